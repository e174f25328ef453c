"""The ``workbench`` command: a thin layer over the package's public functions.

Errors print one line (``workbench: error: ...``) and exit 2 (1 where a command defines a
failure outcome, such as ``data validate`` finding bad rows); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from workbench import __version__
from workbench.errors import ConfigError, DataError, WorkbenchError
from workbench.feed import datasets, files, synthetic
from workbench.jsonsafe import jsonable


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (WorkbenchError, ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"workbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Research and operations workbench for market integration.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    data = sub.add_parser("data", help="market data: list, show, validate, synthesize", parents=[common])
    dsub = data.add_subparsers(title="data commands", metavar="ACTION")

    p = dsub.add_parser("list", help="bundled datasets with symbol, rows, first and last time", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_data_list)

    p = dsub.add_parser("show", help="the first rows of a dataset or file", parents=[common])
    p.add_argument("name", help="dataset name (see `workbench data list`) or a CSV/Parquet file")
    p.add_argument("--head", type=_positive_int, default=10, metavar="N", help="rows to show (10)")
    p.add_argument("--tz", default="UTC", help="timezone of naive file timestamps (UTC)")
    p.set_defaults(func=_data_show)

    p = dsub.add_parser(
        "validate",
        help="check a file (or dataset) against the data rules; exit 1 on errors",
        parents=[common],
    )
    p.add_argument("file", help="a CSV/Parquet file of bars or quotes, or a dataset name")
    p.add_argument("--kind", choices=["bars", "quotes"], help="expected kind (detected otherwise)")
    p.add_argument("--symbol", help="symbol of a single-symbol file without a symbol column")
    p.add_argument("--tz", default="UTC", help="timezone of naive timestamps (UTC)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_data_validate)

    p = dsub.add_parser("synth", help="write seeded synthetic quotes or bars to Parquet", parents=[common])
    p.add_argument("--symbols", type=_positive_int, default=3, help="number of symbols (3)")
    p.add_argument("--days", type=_positive_int, default=1, help="trading days (1)")
    p.add_argument("--freq", default="1s", help="step: quotes every FREQ, or the bar length (1s)")
    p.add_argument("--kind", choices=["quotes", "bars"], default="quotes", help="what to write (quotes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", required=True, type=Path, help="output file, .parquet or .csv")
    p.set_defaults(func=_data_synth)

    for mode in ("backtest", "paper"):
        helptext = ("run a strategy over data as fast as it goes" if mode == "backtest"
                    else "paper-trade a strategy over replayed data, paced by the wall clock")
        p = sub.add_parser(mode, help=helptext, parents=[common])
        p.add_argument("strategy", help="strategy name (sma_cross, buy_and_hold, mean_reversion)")
        p.add_argument("--data", action="append", required=True, metavar="DATASET_OR_FILE",
                       help="bundled dataset name or CSV/Parquet file; repeat or comma-separate for more")
        p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="only these symbols")
        p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="strategy parameter, e.g. -p fast=10 (repeat)")
        p.add_argument("--cash", type=float, default=1_000_000.0, help="starting cash (1,000,000)")
        p.add_argument("--commission", default="none", help="none | ibkr-fixed | bps:N (none)")
        p.add_argument("--slippage", default="none", help="none | bps:N | spread:F (none)")
        p.add_argument("--account", choices=["cash", "margin"], default="cash", help="account type (cash)")
        p.add_argument("--start", help="first date to use (inclusive)")
        p.add_argument("--end", help="last date to use (inclusive)")
        p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
        p.add_argument("--monitor", type=Path, metavar="STORE", help="sample metrics into this SQLite store")
        p.add_argument("--rules", type=Path, metavar="FILE", help="alert rules (YAML; default pack otherwise)")
        p.add_argument("--webhook", metavar="URL", help="POST alert notifications here")
        p.add_argument("--metrics-port", type=int, metavar="PORT", help="serve live /metrics on 127.0.0.1:PORT")
        if mode == "backtest":
            p.add_argument("--out", type=Path, help="write orders, fills, equity, journal and summary here")
        else:
            p.add_argument("--out", type=Path, required=True, help="run directory (journal and results)")
            p.add_argument("--speed", type=float, default=60.0, help="data seconds per wall second (60)")
            p.add_argument("--duration", type=_duration, help="stop after this wall time, e.g. 10m, 30s")
            p.add_argument("--resume", action="store_true", help="resume the run in --out from its journal")
        p.set_defaults(func=_run_strategy, mode=mode)

    p = sub.add_parser("analyze", help="statistics, tear sheet and forecast of a dataset, file or run",
                       parents=[common])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", metavar="DATASET_OR_FILE", help="bundled dataset or bar file")
    src.add_argument("--run", type=Path, metavar="DIR", help="a backtest output directory (equity.csv)")
    p.add_argument("--symbol", help="symbol to analyze in a multi-symbol file")
    p.add_argument("--column", default="close", help="price column for returns (close; adj_close)")
    p.add_argument("--tearsheet", type=Path, metavar="FILE", help="write the tear sheet (.html or .png)")
    p.add_argument("--forecast", type=_positive_int, metavar="H", help="forecast H business days, with accuracy")
    p.add_argument("--model", choices=["arima", "ets", "theta", "naive"], default="arima",
                   help="forecast model (arima)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_analyze)

    p = sub.add_parser("optimize", help="search strategy parameters (grid, random, Bayesian, walk-forward)",
                       parents=[common])
    p.add_argument("strategy", help="strategy name")
    p.add_argument("--data", action="append", required=True, metavar="DATASET_OR_FILE")
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=SPEC",
                   help="a dimension: fast=5:50:5 (ints), x=0.1:1.0[:N|:log] (floats), mode=a,b (choices)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--random", type=_positive_int, metavar="N", help="N random points instead of the grid")
    how.add_argument("--bayes", type=_positive_int, metavar="N", help="N Bayesian (optuna TPE) trials")
    p.add_argument("--seed", type=int, default=0, help="seed of random and Bayesian search (0)")
    p.add_argument("--objective", default="sharpe", help="statistic to maximize (sharpe)")
    p.add_argument("--min-trades", type=int, default=0, help="round trips a trial needs to count (0)")
    p.add_argument("--walk-forward", type=_positive_int, metavar="K", help="K walk-forward folds")
    p.add_argument("--anchored", action="store_true", help="anchored (growing) in-sample windows")
    run_on = p.add_mutually_exclusive_group()
    run_on.add_argument("--jobs", type=int, help="local processes (default: every core; 1 = in process)")
    run_on.add_argument("--dask", metavar="local:N|tcp://HOST:PORT", help="run the trials on Dask")
    p.add_argument("--cash", type=float, default=1_000_000.0)
    p.add_argument("--commission", default="none")
    p.add_argument("--slippage", default="none")
    p.add_argument("--account", choices=["cash", "margin"], default="cash")
    p.add_argument("--out", type=Path, help="write trials.csv, summary.json, heatmap.html, trials.sqlite")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_optimize)

    p = sub.add_parser("certify", help="run the certification notebook and report (exit 1 unless all pass)",
                       parents=[common])
    p.add_argument("--profile", choices=["quick", "full"], default="quick", help="quick (< 2 min) or full")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="seed=N, crash_trials=N, threshold.NAME=VALUE, faults=all|NAME,NAME (repeat)")
    p.add_argument("-f", "--params-file", type=Path, metavar="FILE", help="parameters from YAML")
    p.add_argument("--faults", action="store_true",
                   help="then inject each fault of the library and report which categories catch it")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="inject just this fault (repeat); --list-faults names them")
    p.add_argument("--list-faults", action="store_true", help="list the fault library and exit")
    p.add_argument("--update-goldens", action="store_true",
                   help="record this run's outputs as the goldens of its profile and seed (every other category "
                        "must pass)")
    p.add_argument("--out", type=Path, help="run directory (runs/certify-<timestamp>)")
    p.add_argument("--json", action="store_true", help="print report.json instead of the summary")
    p.set_defaults(func=_certify)

    mon = sub.add_parser("monitor", help="metrics and alerts: serve, status, alerts, export, check",
                         parents=[common])
    msub = mon.add_subparsers(title="monitor commands", metavar="ACTION")
    store_help = "the monitor store (runs/monitor.sqlite)"
    p = msub.add_parser("serve", help="serve the store's latest values as /metrics", parents=[common])
    p.add_argument("--store", type=Path, default=Path("runs/monitor.sqlite"), help=store_help)
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=9464, help="port (9464)")
    p.set_defaults(func=_monitor_serve)
    p = msub.add_parser("status", help="current values and firing alerts", parents=[common])
    p.add_argument("--store", type=Path, default=Path("runs/monitor.sqlite"), help=store_help)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_monitor_status)
    p = msub.add_parser("alerts", help="alert history", parents=[common])
    p.add_argument("--store", type=Path, default=Path("runs/monitor.sqlite"), help=store_help)
    p.add_argument("--since", default="24h", help="how far back, e.g. 1h, 30m (24h)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_monitor_alerts)
    p = msub.add_parser("export", help="every stored sample to CSV or Parquet", parents=[common])
    p.add_argument("--store", type=Path, default=Path("runs/monitor.sqlite"), help=store_help)
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=_monitor_export)
    p = msub.add_parser("check", help="validate an alert rule file", parents=[common])
    p.add_argument("rules", type=Path)
    p.set_defaults(func=_monitor_check)

    p = sub.add_parser("serve", help="serve the Panel dashboards", parents=[common])
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=5006, help="port (5006)")
    p.add_argument("--basic-auth", metavar="FILE", help="JSON file of {user: password}, or a password")
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST:PORT",
                   help="origins allowed besides the serving address (repeat)")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where certification runs are (runs)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("selftest", help="run every component's self-test; exit 1 on a failure", parents=[common])
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_selftest)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _data_list(args: argparse.Namespace) -> int:
    rows = []
    for name, ds in datasets.DATASETS.items():
        frame = datasets.load_dataset(name)
        rows.append(
            {
                "name": name,
                "symbol": ds.symbol,
                "rows": len(frame),
                "first": str(frame.index[0].date()),
                "last": str(frame.index[-1].date()),
                "description": ds.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _load_any(name: str, **options) -> files.Loaded:
    """A dataset by name, or else a file."""
    if name in datasets.DATASETS and not Path(name).exists():
        frame = datasets.load_dataset_bars(name)
        return files.validate_frame(frame, source=f"dataset {name}", on_error="drop")
    return files.load_file(name, **options)


def _data_show(args: argparse.Namespace) -> int:
    loaded = _load_any(args.name, tz=args.tz)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(loaded.frame.head(args.head).to_string())
    print(f"[{len(loaded.frame):,} rows x {loaded.frame.shape[1]} columns]")
    return 0


def _data_validate(args: argparse.Namespace) -> int:
    options = {"on_error": "drop", "tz": args.tz, "kind": args.kind, "symbol": args.symbol}
    try:
        report = _load_any(args.file, cache=False, **options).report
    except DataError as exc:
        # The whole file is unusable (unreadable, empty, wrong columns): that is a finding.
        if args.json:
            print(json.dumps({"source": args.file, "ok": False, "error": str(exc), "rule": exc.rule}))
        else:
            print(f"{args.file}: INVALID: {exc}")
        return 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _data_synth(args: argparse.Namespace) -> int:
    market = synthetic.SyntheticMarket(symbols=args.symbols, seed=args.seed)
    show = sys.stderr.isatty()
    if args.kind == "quotes":
        frame = market.quotes(args.days, args.freq, progress=show)
    else:
        frame = market.bars(args.days, args.freq, progress=show)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.name.lower().endswith(files.PARQUET_SUFFIXES):
        frame.to_parquet(out)
    elif out.name.lower().endswith(files.CSV_SUFFIXES):
        frame.to_csv(out)
    else:
        raise ValueError(f"--out: use a .parquet or .csv file name, got {out}")
    first, last = frame.index[0], frame.index[-1]
    print(f"wrote {len(frame):,} {args.kind} for {args.symbols} symbol(s), {first} .. {last}, to {out}")
    return 0


def _duration(text: str) -> float:
    """A duration flag (``workbench.units.seconds``), > 0."""
    from workbench.units import seconds

    try:
        return seconds(text, "duration", positive=True)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("duration: ")) from None


def _date(text: str | None, name: str):
    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: not a date: {text!r}") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-p: expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _frames(sources: list[str], symbols: list[str] | None) -> list[pd.DataFrame]:
    names = [n.strip() for item in sources for n in item.split(",") if n.strip()]
    frames = []
    for name in names:
        if name in datasets.DATASETS and not Path(name).exists():
            frames.append(datasets.load_dataset_bars(name))
        else:
            frames.append(files.read_file(name))
    if symbols:
        available = sorted({str(s) for f in frames for s in pd.unique(f["symbol"])})
        unknown = sorted(set(symbols) - set(available))
        if unknown:
            raise ConfigError(f"--symbols: {unknown} not in the data; available: {available}")
        frames = [f[f["symbol"].astype(str).isin(symbols)] for f in frames]
        frames = [f for f in frames if len(f)]
    return frames


def _run_strategy(args: argparse.Namespace) -> int:
    from workbench.broker import commission_from, slippage_from
    from workbench.engine import Engine
    from workbench.strategies import strategy_class

    # Everything is checked before any work starts.
    cls = strategy_class(args.strategy)
    strategy = cls(**_params(args.param))
    start, end = _date(args.start, "--start"), _date(args.end, "--end")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--start {args.start} is after --end {args.end}")
    commission, slippage = commission_from(args.commission), slippage_from(args.slippage)
    if not (args.cash > 0 and args.cash < float("inf")):
        raise ConfigError(f"--cash must be a positive number, got {args.cash}")
    frames = _frames(args.data, args.symbols)
    journal = None
    options = {}
    if args.out is not None:
        journal = args.out / "journal.sqlite"
        if journal.exists() and not getattr(args, "resume", False):
            raise ConfigError(f"{journal} exists: use another --out" + (" or --resume" if args.mode == "paper" else ""))
    if args.mode == "paper":
        if not args.speed > 0:
            raise ConfigError(f"--speed must be > 0, got {args.speed}")
        options.update(speed=args.speed, duration=args.duration, resume=args.resume)
    monitor = None
    if args.monitor or args.rules or args.webhook or args.metrics_port:
        from workbench.monitor import Monitor

        monitor = Monitor(store=args.monitor, rules=args.rules, webhook=args.webhook)
        if args.metrics_port:
            monitor.serve("127.0.0.1", args.metrics_port)
    engine = Engine(
        strategy, *frames, cash=args.cash, commission=commission, slippage=slippage,
        account_type=args.account, journal=journal, mode=args.mode, start=start, end=end,
        progress=sys.stderr.isatty(), monitor=monitor, **options,
    )
    if engine.replay.__len__() == 0:
        raise ConfigError("no data left between --start and --end")
    try:
        result = engine.run()
    finally:
        if monitor is not None:
            monitor.close()
    summary = result.summary()
    if args.out is not None:
        result.save(args.out)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, result, args.out)
    return 0


def _print_summary(summary: dict, result, out: Path | None) -> None:
    def pct(x):
        return "n/a" if x is None else f"{x:+.2%}"

    print(f"{summary['strategy']} {summary['params']} on {', '.join(summary['symbols'])}"
          f" ({result.mode}{', stopped early' if result.stopped_early else ''})")
    rows = [
        ("bars", f"{summary['bars']:,}"),
        ("orders / fills", f"{summary['orders']:,} / {summary['fills']:,}"),
        ("round trips", f"{len(result.trades):,}"),
        ("final equity", f"{summary['final_equity']:,.2f}"),
        ("total return", pct(summary["total_return"])),
        ("CAGR", pct(summary["cagr"])),
        ("Sharpe", "n/a" if summary["sharpe"] is None else f"{summary['sharpe']:.3f}"),
        ("max drawdown", pct(summary["max_drawdown"])),
        ("fills sha256", summary["fills_sha256"][:16] + "..."),
        ("run time", f"{result.seconds:.2f} s ({result.events / result.seconds:,.0f} events/s)"
         if result.seconds > 0 else "n/a"),
    ]
    for name, value in rows:
        print(f"  {name:<15} {value}")
    if out is not None:
        print(f"  results in     {out}/")


def _analyze(args: argparse.Namespace) -> int:
    from workbench.analytics import Analytics, forecast, performance, timeseries, trades
    from workbench.analytics.tearsheet import save_tearsheet, tearsheet

    analytics = Analytics()
    fills = None
    if args.run is not None:
        eq_file = args.run / "equity.csv"
        if not eq_file.is_file():
            raise ConfigError(f"--run: no equity.csv in {args.run} (is it a backtest --out directory?)")
        eq = pd.read_csv(eq_file)
        equity = pd.Series(eq["equity"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(eq["time"], utc=True)))
        daily = performance.daily_equity(equity)
        prices = daily
        source = f"run {args.run}"
        if (args.run / "fills.csv").is_file():
            fills = pd.read_csv(args.run / "fills.csv")
    else:
        frame = _load_any(args.data).frame
        symbols = sorted({str(x) for x in pd.unique(frame["symbol"])})
        symbol = args.symbol or (symbols[0] if len(symbols) == 1 else None)
        if symbol is None:
            raise ConfigError(f"--symbol: the data has {len(symbols)} symbols, pick one of {symbols}")
        if symbol not in symbols:
            raise ConfigError(f"--symbol: {symbol!r} not in the data; available: {symbols}")
        one = frame[frame["symbol"].astype(str) == symbol]
        if args.column not in one.columns:
            raise ConfigError(f"--column: no column {args.column!r}; columns are {list(one.columns[1:])}")
        prices = one[args.column]
        source = f"{args.data} {symbol} {args.column}"
    returns = performance.simple_returns(prices).dropna()
    report: dict = {"source": source, "periods": int(len(returns))}
    report["summary"] = analytics.run("summary", performance.summary, returns)
    dd = performance.max_drawdown_details(returns)
    if dd is not None:
        report["max_drawdown_period"] = {"depth": dd.depth, "peak": str(dd.peak), "trough": str(dd.trough),
                                         "recovery": None if dd.recovery is None else str(dd.recovery),
                                         "duration_periods": dd.duration}
    drift = analytics.run("drift_test", timeseries.drift_test, returns)
    report["drift_test"] = {"mean": drift.mean, "annualized": drift.annualized, "t": drift.t,
                            "p_value": drift.p_value, "hac_lags": drift.lags, "significant_5pct": drift.significant}
    report["anomalies"] = int(len(analytics.run("anomalies", timeseries.anomalies, returns, window=250)))
    if fills is not None and len(fills):
        report["trades"] = trades.trade_stats(trades.round_trips(fills))
    if args.forecast:
        f = analytics.run("forecast", forecast.forecast, prices, args.forecast, args.model)
        acc = analytics.run("evaluate", forecast.evaluate, prices, args.model, horizon=args.forecast,
                            origins=min(20, max(2, (len(prices) - 60) // args.forecast)))
        report["forecast"] = {"model": args.model, "level": f.level,
                              "steps": [{"time": t.isoformat(), **{k: float(v) for k, v in row.items()}}
                                        for t, row in f.frame.iterrows()],
                              "accuracy": acc}
    if args.tearsheet is not None:
        save_tearsheet(tearsheet(returns, title=source), args.tearsheet)
        report["tearsheet"] = str(args.tearsheet)
    if args.json:
        print(json.dumps(jsonable(report)))
    else:
        _print_analysis(report)
    return 0


def _print_analysis(report: dict) -> None:
    s = report["summary"]
    print(f"{report['source']}: {report['periods']:,} returns")
    pct = {"total_return", "cagr", "annual_volatility", "max_drawdown", "var_95", "cvar_95", "win_rate"}
    for key, value in s.items():
        if key == "periods":
            continue
        text = "n/a" if value != value else (f"{value:+.2%}" if key in pct else f"{value:.3f}")
        print(f"  {key:<18} {text}")
    if "max_drawdown_period" in report:
        d = report["max_drawdown_period"]
        print(f"  worst drawdown     {d['peak'][:10]} -> {d['trough'][:10]} -> "
              f"{(d['recovery'] or 'not recovered')[:10] if d['recovery'] else 'not recovered'} ({d['duration_periods']} periods)")
    t = report["drift_test"]
    print(f"  drift (HAC)        {t['annualized']:+.2%}/yr, t={t['t']:.2f}, p={t['p_value']:.3f}"
          f" ({'significant' if t['significant_5pct'] else 'not significant'} at 5%)")
    print(f"  anomalies          {report['anomalies']} returns beyond 4 robust sigmas (250-day window)")
    if "trades" in report:
        tr = report["trades"]
        print(f"  round trips        {tr['trades']}, win rate {tr['win_rate']:.1%}, expectancy {tr['expectancy']:,.2f}")
    if "forecast" in report:
        f = report["forecast"]
        a = f["accuracy"]
        last = f["steps"][-1]
        print(f"  forecast ({f['model']})   {last['time'][:10]}: {last['mean']:,.2f} "
              f"[{last['lower']:,.2f}, {last['upper']:,.2f}] at {f['level']:.0%}")
        print(f"  accuracy           MAE {a['model_mae']:,.3f} vs naive {a['naive_mae']:,.3f} "
              f"(skill {a['skill_vs_naive']:+.2%}), coverage {a['model_coverage']:.0%} vs {a['naive_coverage']:.0%}"
              f" over {a['origins']} origins")
    if "tearsheet" in report:
        print(f"  tear sheet         {report['tearsheet']}")


def _optimize(args: argparse.Namespace) -> int:
    import math

    from workbench.broker import commission_from, slippage_from
    import workbench.optimize.runner as search_mod
    from workbench.optimize import fastpath, overfit
    from workbench.optimize.space import grid, parse_dimension, random_points
    from workbench.optimize.walkforward import walk_forward
    from workbench.strategies import strategy_class

    # Everything is checked before any work starts.
    cls = strategy_class(args.strategy)
    if not args.grid:
        raise ConfigError("give at least one --grid NAME=SPEC")
    space = dict(parse_dimension(g) for g in args.grid)
    for name, dim in space.items():
        if name not in cls.parameters:
            raise ConfigError(f"--grid {name}: {args.strategy} has no such parameter; known: "
                              f"{', '.join(cls.parameters)}")
        for value in dim.values():
            cls.parameters[name].parse(name, value)
    if args.objective not in search_mod.OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(search_mod.OBJECTIVES)}, got {args.objective!r}")
    commission_from(args.commission), slippage_from(args.slippage)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    frames = _frames(args.data, args.symbols)
    options = {"cash": args.cash, "commission": args.commission, "slippage": args.slippage,
               "account_type": args.account}
    store = None
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        store = args.out / "trials.sqlite"
    common = dict(objective=args.objective, min_trades=args.min_trades, options=options,
                  jobs=args.jobs, dask=args.dask, progress=sys.stderr.isatty())
    if args.bayes:
        result = search_mod.search(args.strategy, frames, space, method="bayes", n=args.bayes, seed=args.seed,
                                   store=store, **{k: v for k, v in common.items() if k not in ("jobs", "dask", "progress")})
    else:
        points = random_points(space, args.random, args.seed) if args.random else grid(space)
        result = search_mod.sweep(args.strategy, frames, points, store=store, **common)
    best = result.best
    report: dict = {"strategy": args.strategy, "objective": args.objective, "trials": len(result.trials),
                    "valid": int((result.trials["status"] == "ok").sum()), "cached": result.cached,
                    "seconds": result.seconds, "trials_per_second": result.trials_per_second,
                    "executor": result.executor, "best": best}
    ok = result.trials[result.trials["status"] == "ok"]
    if best is not None and len(frames) == 1 and len(ok) >= 2:
        strategy = cls(**best["params"])
        run = fastpath.run(strategy, frames[0], **options) if fastpath.supports(strategy, tuple(frames), options) else None
        if run is None:
            from workbench.engine import backtest

            run = backtest(strategy, *frames, **options)
        from workbench.analytics.performance import daily_equity, simple_returns

        returns = simple_returns(daily_equity(run.equity)).dropna()
        variance = float((ok["sharpe"].astype(float) / math.sqrt(252)).var(ddof=1))
        d = overfit.deflated_sharpe(returns, len(ok), variance)
        report["deflated_sharpe"] = {"sharpe_per_day": d.sharpe, "threshold": d.threshold, "dsr": d.dsr,
                                     "trials": d.trials}
        if len(ok) <= 400 and fastpath.supports(strategy, tuple(frames), options):
            matrix = {}
            for row in ok.itertuples():
                params = {p: _py_value(getattr(row, p)) for p in result.params}
                r = fastpath.run(cls(**params), frames[0], **options)
                if r is not None:
                    matrix[row.key] = simple_returns(daily_equity(r.equity))
            if len(matrix) >= 2:
                p = overfit.pbo(pd.DataFrame(matrix).dropna().to_numpy(), blocks=16)
                report["pbo"] = {"pbo": p.pbo, "splits": p.splits, "blocks": p.blocks}
    if args.walk_forward:
        if len(frames) != 1 or frames[0]["symbol"].nunique() != 1:
            raise ConfigError("--walk-forward works on one symbol: add --symbols")
        points = random_points(space, args.random, args.seed) if args.random else grid(space)
        wf = walk_forward(args.strategy, frames[0], points, folds=args.walk_forward,
                          mode="anchored" if args.anchored else "rolling", objective=args.objective,
                          options=options, jobs=args.jobs, dask=args.dask)
        report["walk_forward"] = {**wf.summary(), "folds_detail": json.loads(wf.folds.to_json(orient="records",
                                                                                          date_format="iso"))}
        if args.out is not None:
            wf.folds.to_csv(args.out / "walkforward.csv", index=False)
    if args.out is not None:
        result.trials.to_csv(args.out / "trials.csv", index=False)
        (args.out / "summary.json").write_text(json.dumps(jsonable(report), indent=2) + "\n")
        if len(result.params) == 2:
            from workbench.analytics.tearsheet import save_tearsheet

            save_tearsheet(result.heatmap(*result.params), args.out / "heatmap.html")
    if args.json:
        print(json.dumps(jsonable(report)))
    else:
        _print_optimize(report, result)
    return 0


def _py_value(v):
    return v.item() if hasattr(v, "item") else v


def _print_optimize(report: dict, result) -> None:
    print(f"{report['strategy']}: {report['trials']} trials ({report['valid']} valid, {report['cached']} from"
          f" the store) on {report['executor']}, {report['trials_per_second']:,.0f} trials/s")
    best = report["best"]
    if best is None:
        print("  no feasible parameters")
        return
    print(f"  best {report['objective']}: {best['objective']:.4f} at {best['params']}"
          f" (CAGR {best.get('cagr') or float('nan'):+.2%}, max drawdown {best.get('max_drawdown') or float('nan'):+.2%},"
          f" {int(best.get('trades') or 0)} round trips)")
    top = result.trials[result.trials["status"] == "ok"].nlargest(5, "objective")
    print(top[[*result.params, "objective", "cagr", "max_drawdown", "trades"]].to_string(index=False))
    if "deflated_sharpe" in report:
        d = report["deflated_sharpe"]
        print(f"  deflated Sharpe: P(true Sharpe > luck of {d['trials']} trials) = {d['dsr']:.3f}"
              f" (daily Sharpe {d['sharpe_per_day']:.4f} vs threshold {d['threshold']:.4f})")
    if "pbo" in report:
        print(f"  probability of backtest overfitting (CSCV, {report['pbo']['splits']:,} splits): {report['pbo']['pbo']:.2%}")
    if "walk_forward" in report:
        w = report["walk_forward"]
        print(f"  walk-forward, {w['folds']} folds: in-sample {w['objective']} {w['is_mean']:.3f}, out-of-sample"
              f" {w['oos_mean']:.3f} (degradation {w['degradation']:+.3f}); stitched OOS Sharpe {w['oos_sharpe']:.3f}")


def _certify(args: argparse.Namespace) -> int:
    from workbench.certify import runner

    if args.list_faults:
        from workbench.certify.faults import FAULTS

        for f in FAULTS:
            print(f"{f.name:<36} {f.category:<22} {f.what}")
        return 0
    params: dict = {}
    if args.params_file is not None:
        params.update(runner.read_params_file(args.params_file))
    params.update(_params(args.param))
    if any(not name.strip() for name in args.fault):
        raise ConfigError("--fault: an empty fault name (--list-faults names them)")
    if args.faults or args.fault:
        params["faults"] = ",".join(args.fault) if args.fault else "all"
    full = runner.validate(params, args.profile)  # before any kernel starts
    interactive = sys.stderr.isatty()
    if not args.json:
        print(f"certifying ({full['profile']} profile" + (", then injecting faults" if full["faults"] else "") + ")...",
              flush=True)
    report, out = runner.certify(full["profile"], params, out=args.out, progress=interactive,
                                 update_goldens=args.update_goldens)
    if args.json:
        print(json.dumps(report))
    else:
        for line in runner.summary_lines(report):
            print(line)
        print(f"report: {out / 'report.json'}  (HTML: {out / 'certification.html'})")
        if report.get("goldens_updated"):
            print(f"goldens updated for {report['goldens_updated']} (workbench/certify/goldens.json)")
            return 0
    return 0 if report.get("passed") else 1


def _serve(args: argparse.Namespace) -> int:
    from workbench.apps.app import serve

    if args.basic_auth and Path(args.basic_auth).suffix == ".json" and not Path(args.basic_auth).is_file():
        raise ConfigError(f"--basic-auth: no file {args.basic_auth}")
    if not 0 <= args.port < 65536:
        raise ConfigError(f"--port must be 0-65535, got {args.port}")
    print(f"serving http://{args.address}:{args.port}/ (Ctrl-C stops)", flush=True)
    serve(args.address, args.port, basic_auth=args.basic_auth, allow_websocket_origin=args.allow_websocket_origin,
          runs=args.runs)
    return 0


def _open_store(path: Path):
    from workbench.monitor import MetricStore

    if not path.is_file():
        raise ConfigError(f"no monitor store at {path} (run a session with --monitor {path})")
    return MetricStore(path)


def _monitor_serve(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry, start_http_server

    from workbench.monitor.export import StoreCollector

    registry = CollectorRegistry()
    registry.register(StoreCollector(_open_store(args.store)))
    server, thread = start_http_server(args.port, addr=args.address, registry=registry)
    print(f"serving http://{args.address}:{args.port}/metrics from {args.store} (Ctrl-C stops)", flush=True)
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


def _monitor_status(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    latest = store.latest()
    firing = store.alerts(state="firing")
    if args.json:
        print(json.dumps({
            "values": [{"name": r.name, "labels": r.labels, "time": r.time.isoformat(), "value": r.value}
                       for r in latest.itertuples()],
            "firing": [{"rule": r.rule, "labels": r.labels, "severity": r.severity, "value": r.value,
                        "since": r.fired_at.isoformat(), "annotations": r.annotations} for r in firing.itertuples()],
        }))
        return 0
    for r in latest.itertuples():
        labels = ",".join(f"{k}={v}" for k, v in r.labels.items())
        print(f"{r.name}{'{' + labels + '}' if labels else ''} = {r.value:.6g}  ({r.time:%Y-%m-%d %H:%M:%S})")
    print(f"firing alerts: {len(firing)}")
    for r in firing.itertuples():
        print(f"  {r.severity.upper()} {r.rule} since {r.fired_at:%H:%M:%S}: {r.annotations.get('summary', '')}")
    return 0


def _monitor_alerts(args: argparse.Namespace) -> int:
    import time as _t

    from workbench.units import seconds

    since = _t.time() - seconds(args.since, "--since")
    alerts = _open_store(args.store).alerts(since=since)
    if args.json:
        print(alerts.to_json(orient="records", date_format="iso"))
        return 0
    if alerts.empty:
        print(f"no alerts since {args.since} ago")
    for r in alerts.itertuples():
        resolved = "" if pd.isna(r.resolved_at) else f" resolved {r.resolved_at:%Y-%m-%d %H:%M:%S}"
        fired = "" if pd.isna(r.fired_at) else f" fired {r.fired_at:%Y-%m-%d %H:%M:%S}"
        print(f"{r.state:<9} {r.severity:<8} {r.rule}{fired}{resolved}: {r.annotations.get('summary', '')}")
    return 0


def _monitor_export(args: argparse.Namespace) -> int:
    frame = _open_store(args.store).all_samples()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "csv":
        frame.to_csv(args.out, index=False)
    else:
        frame.to_parquet(args.out, index=False)
    print(f"wrote {len(frame):,} samples to {args.out}")
    return 0


def _monitor_check(args: argparse.Namespace) -> int:
    from workbench.monitor import load_rules

    rules = load_rules(args.rules)
    print(f"{args.rules}: {len(rules)} rule(s) OK: {', '.join(r.name for r in rules)}")
    return 0


def _components() -> list:
    """One instance of every component that exists so far."""
    from workbench.broker import SimulatedBroker
    from workbench.engine import Engine
    from workbench.feed import Feed, synthetic_bars
    from workbench.strategies import SmaCross

    from workbench.analytics import Analytics
    from workbench.monitor import Monitor
    from workbench.optimize import Optimizer

    return [Feed(), SimulatedBroker(), Engine(SmaCross(), synthetic_bars(1, days=40, seed=0)), Analytics(),
            Monitor(log=False), Optimizer()]


def _selftest(args: argparse.Namespace) -> int:
    results = [r for component in _components() for r in component.self_test()]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            status = "PASS" if r.passed else "FAIL"
            detail = r.detail.splitlines()[0] if r.detail else ""
            print(f"{status}  {r.component:<8} {r.name:<26} {r.duration_s * 1000:8.1f} ms  {detail}")
        failed = sum(not r.passed for r in results)
        print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
