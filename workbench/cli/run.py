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
from workbench.cli.figures import (
    benchmark_rows,
    option_figures,
    option_summary,
    rejected_text,
    rejections,
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
        p.add_argument("--session", default="auto", metavar="RULE",
                       help="when a session ends and DAY orders expire: auto (daily bars: each bar; intraday data: "
                            "XNYS when every date of the data is one of its session days and every hour with a bar "
                            "lies within 6 hours of a session, else the UTC date), bar, "
                            "date, or an exchange calendar such as XNYS (its closes, half days, holidays); "
                            "symbols of other exchanges after it: XNYS,VOD=XLON")
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
        control=getattr(args, "control", False), layout=layout_options(args), strict=args.strict,
        session=args.session, freeze_gc=True)
    result = run_session(config)
    try:
        return _report(args, result)
    finally:  # the journal checkpointed into its one file now, not when the collector gets to the broker
        if result.broker is not None:
            result.broker.close()


def _report(args: argparse.Namespace, result) -> int:
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
        held = result.portfolio()
        summary = {**summary, "portfolio": held} if held is not None else summary
        summary = {**summary, "stopped_early": True} if result.stopped_early else summary
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
