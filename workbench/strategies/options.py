"""Option-selling strategies: ``put_write``, ``wheel`` and ``iron_condor``.

Both trade one underlying's listed options through the same engine and broker as any other
strategy: the options arrive as quotes on OCC symbols (``workbench.options.chain_quotes``,
given to the engine *before* the underlying's bars, so that at a bar all of that day's
quotes have been seen), orders are the broker's market orders (a sale hits the bid, a
purchase takes the ask), the broker checks each sale's cover (a cash-secured put, a covered
call) and settles the contracts at expiry (exercise, assignment, or worthless). The
command line builds the chains itself (:func:`option_frames`): ``workbench backtest wheel
--data sp500 -p delta=0.3 -p dte=7``.

Choosing a contract, at the underlying's bar (its close), from that day's quotes only: the
nearest expiry at least ``dte`` calendar days away; among its contracts of the right kind,
each one's implied volatility from its mid quote (European Black-Scholes-Merton at
``rate``, no dividend: ``workbench.options.implied_volatility``, QuantLib) and its delta at
that volatility; the contract whose absolute delta is nearest ``delta`` (the lower strike on
a tie). A contract whose mid lies outside the no-arbitrage bounds is passed over.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from workbench.errors import ConfigError
from workbench.model import Bar, Quote
from workbench.strategies.base import Param, Strategy

SHARED = {
    "delta": Param(float, 0.30, "absolute delta of the option sold (0.30: 30 delta)", low=0.01, high=0.99),
    "dte": Param(int, 7, "days to expiry: the nearest expiry at least this many calendar days away", low=1),
    "contracts": Param(int, 1, "contracts a sale (100 shares each)", low=1),
    "take_profit": Param(float, 0.0, "buy back once this share of the premium is earned (0: hold to expiry)",
                         low=0.0, high=0.99),
    "stop_loss": Param(float, 0.0, "buy back once the option's ask is this multiple of the premium (0: never)",
                       low=0.0),
    "rate": Param(float, 0.03, "interest rate for the implied volatility and delta (continuous, a year)",
                  low=-0.05, high=0.5),
}


class _OptionSeller(Strategy):
    """What ``put_write`` and ``wheel`` share: today's option quotes, the contracts' terms,
    choosing a contract by delta, and managing the one short option held."""

    option_chains = True  # a session builds the underlying's chains for it (option_frames)
    parameters = SHARED

    def check_params(self) -> None:
        if self.params["stop_loss"] and self.params["stop_loss"] <= 1.0:
            raise ConfigError(f"{self.name}: stop_loss is a multiple of the premium above 1 (or 0: never), "
                              f"got {self.params['stop_loss']}")

    def on_start(self) -> None:
        self._quotes: dict[str, Quote] = {}  # the option quotes of the latest market time seen
        self._quotes_at = None  # that time (ns)
        self._bar_at = None  # the underlying's latest bar time (ns)
        self._terms: dict[str, object] = {}  # OCC symbol -> OptionContract (None: not an option)
        self._short: dict | None = None  # {"symbol", "premium"} of the option sold, while held
        self.log: list[tuple[str, str, str, float]] = []  # (date, action, symbol, price): what it did

    def on_quote(self, quote: Quote) -> None:
        if quote.ns != self._quotes_at:  # a new day's chain: only its quotes are kept
            if quote.ns == self._bar_at:
                raise ConfigError(f"{self.name}: the option quotes of {quote.time} came after the underlying's bar "
                                  "of that time; give the engine the quotes before the bars (option_frames)")
            self._quotes, self._quotes_at = {}, quote.ns
        if self._contract(quote.symbol) is not None:
            self._quotes[quote.symbol] = quote

    def on_bar(self, bar: Bar) -> None:
        self._bar_at = bar.ns
        if self._manage(bar):
            return
        self.decide(bar)

    def decide(self, bar: Bar) -> None:  # pragma: no cover - each strategy's own
        raise NotImplementedError

    # --- the option held -------------------------------------------------------------------

    def _manage(self, bar: Bar) -> bool:
        """Follow the option sold: gone (settled at expiry or bought back) forgets it; a
        take-profit or stop-loss buys it back. True while one is held."""
        short = self._short
        if short is None:
            return False
        symbol = short["symbol"]
        if self.position(symbol) >= 0 and not self.working(symbol):
            self._short = None
            return False
        quote = self._quotes.get(symbol)
        if quote is None or quote.ns != bar.ns or self.working(symbol):
            return True
        premium, p = short["premium"], self.params
        if (p["take_profit"] and quote.ask <= (1.0 - p["take_profit"]) * premium + 1e-9) or \
                (p["stop_loss"] and quote.ask >= p["stop_loss"] * premium - 1e-9):
            reply = self.order(symbol, "buy", -self.position(symbol))
            if reply is None or reply.accepted:  # a refused buy-back is not in the log (the broker counts it)
                self.log.append((str(bar.time.date()), "buy back", symbol, quote.ask))
        return True

    def _close_shares(self, bar: Bar, shares: float, action: str) -> None:
        """Close a share position with a market order, GTC (with intraday sessions a DAY
        order placed at the close would expire unfilled at the date change), logged."""
        self.order(bar.symbol, "sell" if shares > 0 else "buy", abs(shares), tif="gtc")
        self.log.append((str(bar.time.date()), action, bar.symbol, bar.close))

    def sell_option(self, bar: Bar, right: str) -> bool:
        """Sell ``contracts`` of the option of ``right`` chosen by delta (module docstring)."""
        choice = self.choose(bar, right)
        if choice is None:
            return False
        symbol, bid, _ = choice
        return self._sell(bar, right, symbol, bid, float(self.params["contracts"]))

    def _sell(self, bar: Bar, right: str, symbol: str, bid: float, contracts: float) -> bool:
        reply = self.order(symbol, "sell", contracts)
        # None: a host that sends nothing (the engine always replies, a resumed run's warm-up
        # too): followed all the same, as if placed
        if reply is None or reply.accepted:
            self._short = {"symbol": symbol, "premium": bid}
            self.log.append((str(bar.time.date()), f"sell {right}", symbol, bid))
            return True
        return False

    def choose(self, bar: Bar, right: str, delta: float | None = None) -> tuple[str, float, float] | None:
        """``(symbol, bid, ask)`` of the contract the rule picks (absolute delta nearest
        ``delta``, the ``delta`` parameter by default), or ``None`` when no expiry is far
        enough or no contract has a usable quote."""
        from workbench.options import OptionError, implied_volatility
        from workbench.options.pricing import _closed_form

        today = bar.time.date()
        earliest = today + dt.timedelta(days=self.params["dte"])
        todays = [(s, q, self._terms[s]) for s, q in self._quotes.items()
                  if q.ns == bar.ns and self._terms[s].right == right
                  and self._terms[s].underlying == bar.symbol and self._terms[s].expiry >= earliest]
        if not todays:
            return None
        expiry = min(c.expiry for _, _, c in todays)
        rows, vols = [], []
        for symbol, q, c in sorted(todays, key=lambda x: x[2].strike):
            if c.expiry != expiry or not q.bid > 0:
                continue
            days = float((c.expiry - today).days)
            try:
                vol = implied_volatility((q.bid + q.ask) / 2, bar.close, c.strike, days, self.params["rate"], 0.0,
                                         right)
            except OptionError:
                continue
            rows.append((symbol, q.bid, c.strike, days, q.ask))
            vols.append(vol)
        if not rows:
            return None
        strikes = np.array([r[2] for r in rows])
        days = np.array([r[3] for r in rows])
        greeks = _closed_form(np.full(len(rows), float(bar.close)), strikes, days, np.full(len(rows), self.params["rate"]),
                              np.zeros(len(rows)), np.array(vols), np.full(len(rows), right == "call"))
        delta_abs = np.abs(greeks[:, 1])
        target = self.params["delta"] if delta is None else delta
        best = int(np.argmin(np.abs(delta_abs - target)))  # the first (lowest strike) on a tie
        return rows[best][0], rows[best][1], rows[best][4]

    def _contract(self, symbol: str):
        if symbol not in self._terms:
            from workbench.options import OptionError, parse_occ

            try:
                self._terms[symbol] = parse_occ(symbol)
            except OptionError:
                self._terms[symbol] = None
        return self._terms[symbol]


class PutWrite(_OptionSeller):
    """Cash-secured put writing.

    At each bar of the underlying, with no option held and no order working: if it holds
    shares (a put was assigned), it sells them all with a market order (filled at the next
    bar's open); otherwise it sells ``contracts`` puts chosen by ``delta`` and ``dte`` (module
    docstring) at the bid. The put is held to expiry (the broker settles it: worthless, or
    assigned: 100 shares a contract bought at the strike) unless ``take_profit`` or
    ``stop_loss`` buys it back first at the ask. In a cash account each put needs its
    strike x 100 in free cash (the broker refuses it otherwise, and the strategy tries again
    at the next bar).
    """

    name = "put_write"
    parameters = SHARED

    def decide(self, bar: Bar) -> None:
        if self.working(bar.symbol):
            return
        shares = self.position(bar.symbol)
        if shares > 0:
            self._close_shares(bar, shares, "sell shares")
            return
        self.sell_option(bar, "put")


class Wheel(_OptionSeller):
    """The wheel: cash-secured puts until assigned, then covered calls until called away.

    At each bar of the underlying, with no option held: holding 100 shares or more, it sells
    calls chosen by ``delta`` and ``dte`` on the whole hundreds held (at most ``contracts``;
    covered by those shares); holding fewer than 100, it sells them (a GTC market order, next
    open); holding none, it sells ``contracts`` puts the same way. Options are held to expiry
    (an assigned put brings the shares, a called-away call takes them) unless ``take_profit``
    or ``stop_loss`` buys them back first.
    """

    name = "wheel"
    parameters = SHARED

    def decide(self, bar: Bar) -> None:
        if self.working(bar.symbol):
            return
        shares = self.position(bar.symbol)
        lots = min(int(shares // 100 + 1e-9), self.params["contracts"]) if shares > 0 else 0
        if lots:  # calls on the whole hundreds held (an assignment of a partly filled sale: fewer)
            choice = self.choose(bar, "call")
            if choice is not None:
                self._sell(bar, "call", choice[0], choice[1], float(lots))
        elif shares > 0:  # fewer than 100: no call covers them; sold, then puts again
            self._close_shares(bar, shares, "sell shares")
        else:
            self.sell_option(bar, "put")


class IronCondor(_OptionSeller):
    """A short iron condor, held to expiry (in a margin account: its short calls are naked to
    a cash account, which would refuse every one and leave a put spread).

    At each bar of the underlying, with no leg held or working: on the nearest expiry at least
    ``dte`` days away (the choosing rule of the module docstring, applied to each leg), it
    sells ``contracts`` puts and calls of absolute delta ``delta`` and buys as many puts and
    calls of absolute delta ``wing_delta`` (farther out of the money: the wings), four market
    orders (sales at the bid, purchases at the ask). The wings must be farther out than the
    short strikes, or the condor is not opened that day. All four legs are held to expiry,
    where the broker settles each; shares an assignment or exercise leaves (a short strike in
    the money, its wing not) are closed with a GTC market order at the next bar before the
    next condor. It needs a margin account: the broker does not net the legs, so each short
    leg carries its naked Reg-T requirement.
    """

    name = "iron_condor"
    needs_margin = True  # the engine refuses a cash account (its short calls are never covered there)
    parameters = {
        "delta": SHARED["delta"],
        "wing_delta": Param(float, 0.10, "absolute delta of the wings bought", low=0.01, high=0.99),
        "dte": SHARED["dte"],
        "contracts": SHARED["contracts"],
        "rate": SHARED["rate"],
    }

    def check_params(self) -> None:
        if self.params["wing_delta"] >= self.params["delta"]:
            raise ConfigError(f"{self.name}: wing_delta ({self.params['wing_delta']}) must be below delta "
                              f"({self.params['delta']}): the wings are farther out of the money")

    def on_start(self) -> None:
        super().on_start()
        self._legs: list[str] = []

    def on_bar(self, bar: Bar) -> None:
        self._bar_at = bar.ns
        if self._legs:
            if any(self.position(s) or self.working(s) for s in self._legs):
                return
            self._legs = []
        shares = self.position(bar.symbol)
        if shares or self.working(bar.symbol):  # left by an assignment or exercise: closed first
            if shares and not self.working(bar.symbol):
                self._close_shares(bar, shares, "close shares")
            return
        legs = []
        for right, target, side in (("put", self.params["delta"], "sell"), ("put", self.params["wing_delta"], "buy"),
                                    ("call", self.params["delta"], "sell"),
                                    ("call", self.params["wing_delta"], "buy")):
            choice = self.choose(bar, right, target)
            if choice is None:
                return
            legs.append((right, side, choice[0], choice[1], choice[2]))
        put_short, put_wing, call_short, call_wing = (self._terms[leg[2]] for leg in legs)
        if not (put_wing.strike < put_short.strike < call_short.strike < call_wing.strike):
            return  # the wings are not outside the short strikes on this day's quotes
        n = float(self.params["contracts"])
        for right, side, symbol, bid, ask in legs:
            reply = self.order(symbol, side, n)
            if reply is not None and not reply.accepted:  # (None: a host that sends nothing, followed)
                break
            self._legs.append(symbol)
            self.log.append((str(bar.time.date()), f"{side} {right}", symbol, bid if side == "sell" else ask))


def option_frames(bars, seed: int = 0, weeklies: int = 2, monthlies: int = 1, dte: int = 0, start=None, end=None):
    """``(quotes, instruments)`` for an option strategy on ``bars`` (one underlying): the
    synthetic chains quoted at each bar (``workbench.options.synthetic_chains``: ``weeklies``
    weekly and ``monthlies`` monthly expiries, more monthlies when ``dte`` needs them so that
    an expiry at least ``dte`` days away is always quoted; ``start``/``end`` limit the quote
    dates) as quotes on OCC symbols, and their broker instruments. Give the quotes to the
    engine before the bars."""
    monthlies = max(monthlies, dte // 28 + 2 if dte > 7 * weeklies - 7 else monthlies)
    from workbench.options import chain_quotes, option_instruments, synthetic_chains

    symbols = list(dict.fromkeys(bars["symbol"].astype(str))) if "symbol" in bars.columns else []
    if len(symbols) != 1:
        raise ConfigError(f"an option strategy trades one underlying; the data has {len(symbols)} symbols "
                          f"({', '.join(symbols)})" if symbols else "an option strategy needs bars with a symbol")
    quotes = chain_quotes(synthetic_chains(bars, seed=seed, weeklies=weeklies, monthlies=monthlies, start=start,
                                           end=end))
    if not len(quotes):
        raise ConfigError("the synthetic chains of these bars quote nothing (too few bars?)")
    return quotes, option_instruments(quotes["symbol"])
