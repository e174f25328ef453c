"""``workbench analyze``: statistics, drift, anomalies, forecast and tear sheet of a dataset,
a file or a backtest's folder (:func:`workbench.analytics.report.analyze`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.analytics.report import analyze, run_series, series_of
from workbench.cli.common import positive_int, print_json

PERCENTS = {"total_return", "cagr", "annual_volatility", "max_drawdown", "var_95", "cvar_95", "win_rate"}


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("analyze", help="statistics, tear sheet and forecast of a dataset, file or run",
                       parents=[common])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", metavar="DATASET_OR_FILE", help="bundled dataset or bar file")
    src.add_argument("--run", type=Path, metavar="DIR", help="a backtest output directory (equity.csv)")
    p.add_argument("--symbol", help="symbol to analyze in a multi-symbol file")
    p.add_argument("--column", default="close", help="price column for returns (close; adj_close)")
    p.add_argument("--tearsheet", type=Path, metavar="FILE", help="write the tear sheet (.html or .png)")
    p.add_argument("--forecast", type=positive_int, metavar="H", help="forecast H business days, with accuracy")
    p.add_argument("--model", choices=["arima", "ets", "theta", "naive"], default="arima",
                   help="forecast model (arima)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=analyze_command)


def analyze_command(args: argparse.Namespace) -> int:
    fills = None
    if args.run is not None:
        prices, fills, source = run_series(args.run)
    else:
        prices, source = series_of(args.data, args.symbol, args.column)
    report = analyze(prices, source=source, fills=fills, forecast_days=args.forecast, model=args.model,
                     tearsheet=args.tearsheet)
    if args.json:
        print_json(report)
    else:
        print_analysis(report)
    return 0


def print_analysis(report: dict) -> None:
    """The report of :func:`~workbench.analytics.report.analyze` as lines of text."""
    print(f"{report['source']}: {report['periods']:,} returns")
    for key, value in report["summary"].items():
        if key != "periods":
            text = "n/a" if value != value else (f"{value:+.2%}" if key in PERCENTS else f"{value:.3f}")
            print(f"  {key:<18} {text}")
    if "max_drawdown_period" in report:
        d = report["max_drawdown_period"]
        print(f"  worst drawdown     {d['peak'][:10]} -> {d['trough'][:10]} -> "
              f"{(d['recovery'] or 'not recovered')[:10]} ({d['duration_periods']} periods)")
    t = report["drift_test"]
    print(f"  drift (HAC)        {t['annualized']:+.2%}/yr, t={t['t']:.2f}, p={t['p_value']:.3f}"
          f" ({'significant' if t['significant_5pct'] else 'not significant'} at 5%)")
    print(f"  anomalies          {report['anomalies']} returns beyond 4 robust sigmas (250-day window)")
    if "trades" in report:
        tr = report["trades"]
        print(f"  round trips        {tr['trades']}, win rate {tr['win_rate']:.1%}, expectancy {tr['expectancy']:,.2f}")
    if "forecast" in report:
        f, a = report["forecast"], report["forecast"]["accuracy"]
        last = f["steps"][-1]
        print(f"  forecast ({f['model']})   {last['time'][:10]}: {last['mean']:,.2f} "
              f"[{last['lower']:,.2f}, {last['upper']:,.2f}] at {f['level']:.0%}")
        print(f"  accuracy           MAE {a['model_mae']:,.3f} vs naive {a['naive_mae']:,.3f} "
              f"(skill {a['skill_vs_naive']:+.2%}), coverage {a['model_coverage']:.0%} vs {a['naive_coverage']:.0%}"
              f" over {a['origins']} origins")
    if "tearsheet" in report:
        print(f"  tear sheet         {report['tearsheet']}")
