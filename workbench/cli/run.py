"""``workbench backtest`` and ``workbench paper``: one strategy over data, as fast as it goes
or paced by the wall clock (:func:`workbench.session.run_session`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.analytics.runplot import check_plot_path
from workbench.cli.common import (
    add_market_options,
    add_strategy_argument,
    duration,
    interactive,
    key_values,
    layout_options,
    port,
    print_json,
    strategy_of,
)
from workbench.errors import ConfigError
from workbench.paths import check_writable
from workbench.session import SessionConfig, run_session


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    for mode, text in (("backtest", "run a strategy over data as fast as it goes"),
                       ("paper", "paper-trade a strategy over replayed data, paced by the wall clock")):
        p = sub.add_parser(mode, help=text, parents=[common])
        add_strategy_argument(p)
        add_market_options(p)
        p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="strategy parameter, e.g. -p fast=10 (repeat)")
        p.add_argument("--start", help="first date to use (inclusive)")
        p.add_argument("--end", help="last date to use (inclusive)")
        p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
        p.add_argument("--strict", action="store_true",
                       help="refuse a run whose data is shorter than the strategy's warm-up (exit 2)")
        p.add_argument("--plot", type=plot_file, metavar="FILE",
                       help="write price with trades, position, equity and drawdown (.html or .png)")
        p.add_argument("--monitor", type=Path, metavar="STORE", help="sample metrics into this SQLite store")
        p.add_argument("--rules", type=Path, metavar="FILE", help="alert rules (YAML; default pack otherwise)")
        p.add_argument("--webhook", metavar="URL", help="POST alert notifications here")
        p.add_argument("--metrics-port", type=port, metavar="PORT", help="serve live /metrics on 127.0.0.1:PORT")
        p.add_argument("--sample-every", type=duration, default=1.0, metavar="DURATION",
                       help="the monitor's sampling interval (1s)")
        if mode == "backtest":
            p.add_argument("--out", type=Path, help="write orders, fills, equity, journal and summary here")
        else:
            p.add_argument("--out", type=Path, required=True, help="run directory (journal and results)")
            p.add_argument("--speed", type=float, default=60.0, help="data seconds per wall second (60)")
            p.add_argument("--duration", type=duration, help="stop after this wall time, e.g. 10m, 30s, 1d")
            p.add_argument("--resume", action="store_true", help="resume the run in --out from its journal")
            p.add_argument("--no-control", dest="control", action="store_false",
                           help="do not open the command channel (what the dashboard's ticket and curl send orders "
                                "through; docs/paper.md)")
        p.set_defaults(func=run_strategy, mode=mode)


def plot_file(text: str) -> Path:
    try:
        return check_plot_path(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--plot {text}: ")) from None


def run_strategy(args: argparse.Namespace) -> int:
    if args.plot is not None:
        if args.plot.is_dir():
            raise ConfigError(f"--plot {args.plot}: a directory (give a file name ending in .html or .png)")
        check_writable(args.plot.parent, "--plot")
    config = SessionConfig(
        strategy=strategy_of(args), data=tuple(args.data), params=key_values(args.param),
        symbols=tuple(args.symbols) if args.symbols else None, mode=args.mode, cash=args.cash,
        commission=args.commission, slippage=args.slippage, account=args.account, start=args.start, end=args.end,
        out=args.out, speed=getattr(args, "speed", 60.0), duration=getattr(args, "duration", None),
        resume=getattr(args, "resume", False), monitor=args.monitor, rules=args.rules, webhook=args.webhook,
        metrics_port=args.metrics_port, sample_every=args.sample_every, progress=interactive(),
        control=getattr(args, "control", False), layout=layout_options(args), strict=args.strict)
    result = run_session(config)
    if args.plot is not None:
        result.plot(args.plot)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        summary = result.summary()
        options = option_summary(result)
        summary = {**summary, "options": options} if options else summary
        rejected = rejections(result)
        summary = {**summary, "rejections": rejected} if rejected else summary
        bench = result.benchmark()
        summary = {**summary, "benchmark": bench} if bench is not None else summary
        print_json({**summary, "warnings": result.warnings} if result.warnings else summary)
    else:
        print_summary(result, args.out)
        if args.plot is not None:
            print(f"  {'plot':<15} {args.plot}")
    return 0


def print_summary(result, out: Path | None) -> None:
    """The summary of a run as an aligned table."""
    s = result.summary()
    pct = lambda x: "n/a" if x is None else f"{x:+.2%}"  # noqa: E731
    from workbench.model import OCC_SYMBOL

    shown = [x for x in s["symbols"] if not OCC_SYMBOL.match(x)]
    contracts = s.get("option_contracts", 0)
    print(f"{s['strategy']} {s['params']} on {', '.join(shown)}"
          + (f" and {contracts:,} option contracts" if contracts else "")
          + f" ({result.mode}{', stopped early' if result.stopped_early else ''})")
    rows = [
        ("bars", f"{s['bars']:,}"),
        ("orders / fills", f"{s['orders']:,} / {s['fills']:,}" + rejected_text(result)),
        ("round trips", f"{len(result.trades):,}"),
        ("final equity", f"{s['final_equity']:,.2f}"),
        ("total return", pct(s["total_return"])),
        ("CAGR", pct(s["cagr"])),
        ("Sharpe", "n/a" if s["sharpe"] is None else f"{s['sharpe']:.3f}"),
        ("max drawdown", pct(s["max_drawdown"])),
        ("fills sha256", s["fills_sha256"][:16] + "..."),
        ("run time", f"{result.seconds:.2f} s ({result.events / result.seconds:,.0f} events/s)"
         if result.seconds > 0 else "n/a"),
    ]
    for name, value in rows:
        print(f"  {name:<15} {value}")
    for name, value in benchmark_rows(result):
        print(f"  {name:<15} {value}")
    options = option_figures(result)
    if options:
        for name, value in options:
            print(f"  {name:<15} {value}")
    if out is not None:
        print(f"  {'results in':<15} {out}/")


def benchmark_rows(result) -> list[tuple[str, str]]:
    """The buy-and-hold of the run's universe beside it (:meth:`Result.benchmark`)."""
    b = result.benchmark()
    if b is None:
        return []
    pct = lambda x: "n/a" if x is None else f"{x:+.2%}"  # noqa: E731
    num = lambda x, f: "n/a" if x is None else format(x, f)  # noqa: E731
    return [
        ("buy and hold", f"{pct(b['total_return'])} total, CAGR {pct(b['cagr'])}, Sharpe {num(b['sharpe'], '.3f')}, "
                         f"max drawdown {pct(b['max_drawdown'])} ({', '.join(b['symbols'])}, equal weight)"),
        ("vs buy and hold", f"alpha {pct(b['alpha'])} a year, beta {num(b['beta'], '.3f')}, information ratio "
                            f"{num(b['information_ratio'], '.3f')}"),
    ]


def rejections(result) -> dict[str, int]:
    """The broker's refusals by reason (none: empty)."""
    stats = result.broker.stats(latency=False) if result.broker is not None else {}
    if not stats.get("orders_rejected"):
        return {}
    return {k.removeprefix("rejected_"): v for k, v in stats.items() if k.startswith("rejected_") and v}


def rejected_text(result) -> str:
    """``; 5,031 rejected (UNCOVERED_OPTION 5,031)``: the broker's refusals by reason, or ``""``."""
    reasons = rejections(result)
    if not reasons:
        return ""
    total = result.broker.stats(latency=False)["orders_rejected"]
    detail = ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return f"; {total:,} rejected" + (f" ({detail})" if detail else "")


def option_summary(result) -> dict:
    """A run's option figures as plain data (``--json``; none without options): contracts
    sold and bought, the premium collected (sales less purchases, x the multiplier), how the
    contracts ended, and the sums of the daily P&L attribution
    (:func:`workbench.options.attribution.pnl_attribution`)."""
    stats = result.broker.stats(latency=False) if result.broker is not None else {}
    if "options_expired" not in stats:
        return {}
    from workbench.model import OCC_SYMBOL
    from workbench.options.attribution import pnl_attribution

    fills = result.fills
    opt = fills[fills["symbol"].astype(str).str.match(OCC_SYMBOL.pattern) & ~fills["order_id"].str.startswith("E")]
    m = result.broker.multipliers
    value = lambda f: float(sum(q * p * m.get(str(x), 1.0) for q, p, x in zip(f["quantity"], f["price"], f["symbol"])))  # noqa: E731
    sold, bought = opt[opt["side"] == "sell"], opt[opt["side"] == "buy"]
    a = pnl_attribution(result).iloc[1:]
    held = result.broker.positions()
    still = sum(abs(p.quantity) for sym, p in held.items() if OCC_SYMBOL.match(sym))
    return {"contracts_sold": float(sold["quantity"].sum()), "sales": len(sold), "contracts_open": float(still),
            "contracts_bought": float(bought["quantity"].sum()), "premium": value(sold) - value(bought),
            **{k: stats[f"options_{k}"] for k in ("assigned", "exercised", "cash_settled", "expired")},
            "pnl_parts": {k: float(a[k].sum()) for k in ("delta", "gamma", "theta", "vega", "residual", "total")},
            "residual_share": float(a["residual"].abs().sum() / a["total"].abs().sum()) if a["total"].abs().sum()
            else None}


def option_figures(result) -> list[tuple[str, str]]:
    """:func:`option_summary` as the summary table's rows (none without options)."""
    o = option_summary(result)
    if not o:
        return []
    parts = ", ".join(f"{k} {o['pnl_parts'][k]:,.0f}" for k in ("delta", "gamma", "theta", "vega", "residual"))
    share = "" if o["residual_share"] is None else f" ({o['residual_share']:.1%} of the daily P&L unexplained)"
    return [
        ("P&L parts", parts + share),
        ("options sold", f"{_count(o['contracts_sold'], 'contract')} in {_count(o['sales'], 'sale')}; "
                         f"{_count(o['contracts_bought'], 'contract')} bought back or bought"),
        ("premium", f"{o['premium']:,.2f} collected (sales less purchases)"),
        ("at expiry", f"positions: {o['assigned']:,} assigned, {o['exercised']:,} exercised, "
                      f"{o['cash_settled']:,} cash-settled, {o['expired']:,} worthless"
                      + (f"; {_count(o['contracts_open'], 'contract')} still open at the end"
                         if o["contracts_open"] else "")),
    ]


def _count(n: float, word: str) -> str:
    return f"{n:,.0f} {word}{'' if n == 1 else 's'}"
