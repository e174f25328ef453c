"""Option prices, greeks and implied volatility under Black-Scholes-Merton.

Conventions (those of most option desks and of vollib): time is ``days / 365``; rates and the
dividend yield are continuous, per year (0.05 is 5 %); ``vol`` is per year (0.2 is 20 %).
Greeks per unit of the underlying: ``delta`` per 1 of spot, ``gamma`` per 1 of spot per 1 of
spot, ``vega`` per 1 volatility point (0.01), ``theta`` per calendar day (the day's change in
value, negative when time costs), ``rho`` per 1 % of the rate (0.01).

* :func:`price_option`, one contract: European by QuantLib's ``BlackCalculator`` (the
  closed form, from forward, standard deviation and discount, so a fractional day is exact);
  American by QuantLib's finite-difference engine (``FdBlackScholesVanillaEngine``, 400 time
  and 400 price steps), its vega and rho by central differences of that engine (a 0.01 vol
  and 0.0001 rate bump; it gives neither).
* :func:`price_chain`, a whole chain (a DataFrame): European rows by the closed form in numpy
  (``scipy.special.ndtr``), American rows by :func:`price_option`. The closed form is written
  here because no well-kept library vectorizes it with numpy 2 (``py_vollib_vectorized``
  0.1.1 fails to compile under numba 0.68); ``tests/options`` checks it against QuantLib.
* :func:`implied_volatility`: QuantLib's ``blackFormulaImpliedStdDev`` for European prices,
  Brent's method (``scipy.optimize.brentq``) on the American price; a price outside the
  no-arbitrage bounds is refused with the bounds in the message.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import QuantLib as ql
from scipy.optimize import brentq
from scipy.special import ndtr

from workbench.options.contracts import RIGHTS, STYLES, OptionError

DAYS_A_YEAR = 365.0
FD_STEPS = 400  # time and price steps of the American finite-difference grid
CHAIN_INPUTS = ("spot", "strike", "days", "rate", "dividend", "vol", "right")
GREEKS = ("price", "delta", "gamma", "vega", "theta", "rho")


@dataclass(frozen=True)
class Greeks:
    """Price and greeks of one option, per unit of the underlying (module conventions)."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


MAX_VOL = 5.0  # 500 % a year: a larger vol is a percentage typed as a number (20 for 0.20)


def _check(spot, strike, days, rate, dividend, vol, right, style) -> None:
    for name, value in (("spot", spot), ("strike", strike), ("days", days), ("vol", vol)):
        if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool) \
                or not math.isfinite(value) or value <= 0:
            raise OptionError(f"{name} must be a positive number, got {value!r}")
    if vol > MAX_VOL:
        raise OptionError(f"vol is a yearly volatility as a fraction (0.20 is 20 %), at most {MAX_VOL:g}; got {vol!r}")
    for name, value in (("rate", rate), ("dividend", dividend)):
        if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool) \
                or not math.isfinite(value) or abs(value) > 1:
            raise OptionError(f"{name} must be a yearly rate between -1 and 1 (0.05 is 5 %), got {value!r}")
    if right not in RIGHTS:
        raise OptionError(f"right must be 'call' or 'put', got {right!r}")
    if style not in STYLES:
        raise OptionError(f"style must be 'european' or 'american', got {style!r}")


def price_option(spot: float, strike: float, days: float, rate: float, dividend: float, vol: float,
                 right: str, style: str = "european") -> Greeks:
    """Price and greeks of one option (module docstring for the conventions and methods)."""
    _check(spot, strike, days, rate, dividend, vol, right, style)
    spot, strike, days, rate, dividend, vol = map(float, (spot, strike, days, rate, dividend, vol))
    if style == "european":
        return _european(spot, strike, days / DAYS_A_YEAR, rate, dividend, vol, right)
    return _american(spot, strike, days, rate, dividend, vol, right)


def _european(spot, strike, t, rate, dividend, vol, right) -> Greeks:
    forward = spot * math.exp((rate - dividend) * t)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if right == "call" else ql.Option.Put, strike)
    calc = ql.BlackCalculator(payoff, forward, vol * math.sqrt(t), math.exp(-rate * t))
    return Greeks(calc.value(), calc.delta(spot), calc.gamma(spot), calc.vega(t) / 100.0,
                  calc.theta(spot, t) / DAYS_A_YEAR, calc.rho(t) / 100.0)


_TODAY = ql.Date(1, 1, 2001)  # an arbitrary evaluation date: only the days between count


def _american_option(spot, strike, days, rate, dividend, vol, right):
    """QuantLib's American option and its engine. QuantLib counts whole days: over
    ``n = ceil(days)`` days the price is the same with rate, dividend and variance rates
    scaled by ``days / n`` (the equation depends on their products with time); returns the
    option and that scale."""
    ql.Settings.instance().evaluationDate = _TODAY
    n = max(1, math.ceil(days - 1e-9))
    scale = days / n
    dc = ql.Actual365Fixed()
    r = ql.YieldTermStructureHandle(ql.FlatForward(_TODAY, rate * scale, dc, ql.Continuous))
    q = ql.YieldTermStructureHandle(ql.FlatForward(_TODAY, dividend * scale, dc, ql.Continuous))
    v = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(_TODAY, ql.NullCalendar(), vol * math.sqrt(scale), dc))
    process = ql.BlackScholesMertonProcess(ql.QuoteHandle(ql.SimpleQuote(spot)), q, r, v)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if right == "call" else ql.Option.Put, strike)
    option = ql.VanillaOption(payoff, ql.AmericanExercise(_TODAY, _TODAY + n))
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, FD_STEPS, FD_STEPS))
    return option, scale


def _american(spot, strike, days, rate, dividend, vol, right) -> Greeks:
    option, scale = _american_option(spot, strike, days, rate, dividend, vol, right)
    price, delta, gamma = option.NPV(), option.delta(), option.gamma()
    def at(**change) -> float:
        args = {"spot": spot, "strike": strike, "days": days, "rate": rate, "dividend": dividend, "vol": vol,
                "right": right, **change}
        return _american_option(**args)[0].NPV()

    dv, dr = min(0.01, vol / 2), 1e-4
    vega = (at(vol=vol + dv) - at(vol=vol - dv)) / (2 * dv) / 100.0
    rho = (at(rate=rate + dr) - at(rate=rate - dr)) / (2 * dr) / 100.0
    # theta by a central difference in days (the engine's own is poor at a few days to expiry)
    dd = min(0.25, days / 4)
    theta = (at(days=days - dd) - at(days=days + dd)) / (2 * dd)
    return Greeks(price, delta, gamma, vega, theta, rho)


def price_chain(chain: pd.DataFrame) -> pd.DataFrame:
    """Price and greeks of every row of ``chain`` (columns ``spot, strike, days, rate,
    dividend, vol, right`` and optionally ``style``, European when absent); returns a frame
    of ``price, delta, gamma, vega, theta, rho`` on the chain's index. A bad row is named."""
    missing = [c for c in CHAIN_INPUTS if c not in chain.columns]
    if missing:
        raise OptionError(f"the chain lacks column(s) {', '.join(missing)}; it needs {', '.join(CHAIN_INPUTS)}")
    n = len(chain)
    for c in ("spot", "strike", "days", "rate", "dividend", "vol"):
        kind = chain[c].dtype.kind
        if kind in "mMbc":  # a timedelta would read as nanoseconds, a bool as 0/1
            raise OptionError(f"chain column {c} must hold plain numbers, got {chain[c].dtype} "
                              + ("(use .dt.days for days)" if kind == "m" else ""))
    cols = {c: pd.to_numeric(chain[c], errors="coerce").to_numpy(dtype=float)
            for c in ("spot", "strike", "days", "rate", "dividend", "vol")}
    right = chain["right"].astype(str).to_numpy()
    style = chain["style"].astype(str).to_numpy() if "style" in chain.columns else np.full(n, "european")
    finite = {c: np.isfinite(v) for c, v in cols.items()}
    for name, ok in (("spot", (cols["spot"] > 0) & finite["spot"]), ("strike", (cols["strike"] > 0) & finite["strike"]),
                     ("days", (cols["days"] > 0) & finite["days"]), ("vol", (cols["vol"] > 0) & finite["vol"]), ("rate", np.abs(cols["rate"]) <= 1),
                     ("dividend", np.abs(cols["dividend"]) <= 1), ("right", np.isin(right, RIGHTS)),
                     ("style", np.isin(style, STYLES))):
        bad = np.flatnonzero(~ok)  # NaN fails every comparison
        if bad.size:
            i = int(bad[0])
            value = chain[name].iloc[i] if name in chain.columns else style[i]
            value = value.item() if isinstance(value, np.generic) else value
            raise OptionError(f"chain row {i + 1} (index {chain.index[i]!r}): {name} {value!r} is not valid"
                              + (f"; {bad.size - 1} more row(s) like it" if bad.size > 1 else ""))
    out = np.empty((n, len(GREEKS)))
    euro = style == "european"
    if euro.any():
        out[euro] = _closed_form(*(cols[c][euro] for c in ("spot", "strike", "days", "rate", "dividend", "vol")),
                                 right[euro] == "call")
    for i in np.flatnonzero(~euro).tolist():
        g = _american(*(float(cols[c][i]) for c in ("spot", "strike", "days", "rate", "dividend", "vol")), right[i])
        out[i] = (g.price, g.delta, g.gamma, g.vega, g.theta, g.rho)
    return pd.DataFrame(out, index=chain.index, columns=list(GREEKS))


def _closed_form(s, k, days, r, q, vol, call) -> np.ndarray:
    """Black-Scholes-Merton prices and greeks over arrays (module conventions)."""
    t = days / DAYS_A_YEAR
    sqrt_t = np.sqrt(t)
    sd = vol * sqrt_t
    d1 = (np.log(s / k) + (r - q + 0.5 * vol * vol) * t) / sd
    d2 = d1 - sd
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    sign = np.where(call, 1.0, -1.0)
    nd1, nd2 = ndtr(sign * d1), ndtr(sign * d2)
    price = sign * (s * dq * nd1 - k * dr * nd2)
    delta = sign * dq * nd1
    gamma = dq * pdf / (s * sd)
    vega = s * dq * pdf * sqrt_t / 100.0
    theta = (-s * dq * pdf * vol / (2 * sqrt_t) + sign * (q * s * dq * nd1 - r * k * dr * nd2)) / DAYS_A_YEAR
    rho = sign * k * t * dr * nd2 / 100.0
    return np.column_stack([price, delta, gamma, vega, theta, rho])


def bounds(spot: float, strike: float, days: float, rate: float, dividend: float, right: str,
           style: str = "european") -> tuple[float, float]:
    """The no-arbitrage range of an option's price: (lower, upper), per unit."""
    t = days / DAYS_A_YEAR
    s, k = spot * math.exp(-dividend * t), strike * math.exp(-rate * t)
    if right == "call":
        low, high = max(s - k, 0.0), s
        if style == "american":
            low, high = max(low, spot - strike), spot
    else:
        low, high = max(k - s, 0.0), k
        if style == "american":
            low, high = max(low, strike - spot), strike
    return low, high


def implied_volatility(price: float, spot: float, strike: float, days: float, rate: float, dividend: float,
                       right: str, style: str = "european") -> float:
    """The volatility at which the model gives ``price``; a price outside the no-arbitrage
    bounds (no volatility gives it) is refused, the bounds named."""
    _check(spot, strike, days, rate, dividend, 0.2, right, style)
    if isinstance(price, bool) or not isinstance(price, (int, float, np.floating, np.integer)) \
            or not math.isfinite(price):
        raise OptionError(f"price must be a number, got {price!r}")
    price, spot, strike, days, rate, dividend = map(float, (price, spot, strike, days, rate, dividend))
    low, high = bounds(spot, strike, days, rate, dividend, right, style)
    if not low < price < high:
        raise OptionError(f"price {price:g} is outside the no-arbitrage bounds of this {style} {right} "
                          f"({low:.6g} < price < {high:.6g}): no volatility gives it")
    t = days / DAYS_A_YEAR
    if style == "european":
        forward = spot * math.exp((rate - dividend) * t)
        try:
            sd = ql.blackFormulaImpliedStdDev(ql.Option.Call if right == "call" else ql.Option.Put, strike, forward,
                                              price, math.exp(-rate * t))
        except RuntimeError as exc:  # QuantLib's solver did not converge
            raise OptionError(f"no implied volatility found for price {price:g}: {exc}") from None
        return sd / math.sqrt(t)

    def gap(vol: float) -> float:
        return _american_option(spot, strike, days, rate, dividend, vol, right)[0].NPV() - price

    lo, hi = 1e-4, 5.0
    if gap(lo) > 0 or gap(hi) < 0:
        raise OptionError(f"price {price:g} needs a volatility outside {lo:g} to {hi:g}")
    return brentq(gap, lo, hi, xtol=1e-8)
