"""``workbench optimize``: a parameter study (grid, random, Bayesian, walk-forward) with its
deflated Sharpe ratio and PBO (:func:`workbench.optimize.study`, whose report the
certification computes the same way)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.cli.common import (
    add_market_options,
    add_strategy_argument,
    interactive,
    layout_options,
    positive_int,
    print_json,
    strategy_of,
)
from workbench.feed import load_bars
from workbench.paths import check_writable
from workbench.optimize import reporting
from workbench.optimize.studies import MAX_TRIALS, parse_space, study


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("optimize", help="search strategy parameters (grid, random, Bayesian, walk-forward)",
                       parents=[common])
    add_strategy_argument(p)
    add_market_options(p)
    p.add_argument("--grid", action="append", default=[], metavar="NAME=SPEC",
                   help="a dimension: fast=5:50:5 (ints), x=0.1:1.0[:N|:log] (floats), mode=a,b (choices)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--random", type=positive_int, metavar="N", help="N random points instead of the grid")
    how.add_argument("--bayes", type=positive_int, metavar="N", help="N Bayesian (optuna TPE) trials")
    p.add_argument("--seed", type=int, default=0, help="seed of random and Bayesian search (0)")
    p.add_argument("--objective", default="sharpe", help="statistic to maximize (sharpe)")
    p.add_argument("--min-trades", type=int, default=0, help="round trips a trial needs to count (0)")
    p.add_argument("--max-trials", type=positive_int, default=MAX_TRIALS,
                   help=f"refuse a search of more trials than this ({MAX_TRIALS:,})")
    p.add_argument("--walk-forward", type=positive_int, metavar="K", help="K walk-forward folds")
    p.add_argument("--anchored", action="store_true", help="anchored (growing) in-sample windows")
    run_on = p.add_mutually_exclusive_group()
    run_on.add_argument("--jobs", type=positive_int, help="local processes (default: every core; 1 = in process)")
    run_on.add_argument("--dask", metavar="local:N|tcp://HOST:PORT", help="run the trials on Dask")
    p.add_argument("--out", type=Path, help="write trials.csv, summary.json, heatmap.html, trials.sqlite")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=optimize_command)


def optimize_command(args: argparse.Namespace) -> int:
    strategy = strategy_of(args)
    space = parse_space(args.grid, strategy)
    if args.out is not None:
        check_writable(args.out)
    options = {"cash": args.cash, "commission": args.commission, "slippage": args.slippage,
               "account_type": args.account}
    dropped: list[str] = []
    frames = load_bars(args.data, args.symbols, progress=interactive(), dropped=dropped, **layout_options(args))
    for warning in dropped:  # (--on-error drop) before the study: the trials run on what is left
        print(f"warning: {warning}", file=sys.stderr)
    done = study(strategy, frames, space, random=args.random, bayes=args.bayes, seed=args.seed,
                 objective=args.objective, min_trades=args.min_trades, folds=args.walk_forward,
                 anchored=args.anchored, options=options, jobs=args.jobs, dask=args.dask,
                 store=None if args.out is None else args.out / "trials.sqlite", max_trials=args.max_trials,
                 progress=interactive())
    if dropped:  # in the study's summary too, as a backtest's
        done.report["warnings"] = dropped
    if args.out is not None:
        reporting.save(args.out, done.sweep, done.report, done.walk_forward)
    if args.json:
        print_json(done.report)
    else:
        print_study(done.report, done.sweep)
    return 0


def print_study(report: dict, sweep) -> None:
    """The report of a study as lines of text, with its five best trials."""
    ran = report["trials"] - report["cached"]
    speed = f"{report['trials_per_second']:,.0f} trials/s" if ran else "all from the store"
    print(f"{report['strategy']}: {report['trials']} trials ({report['valid']} valid, {report['cached']} from"
          f" the store) on {report['executor']}, {speed}")
    best = report["best"]
    if best is None:
        reasons = sweep.trials.get("error")
        why = sorted({str(e) for e in reasons.dropna()}) if reasons is not None else []
        infeasible = int((sweep.trials["status"] == "infeasible").sum())
        print("  no feasible parameters" + (f": {'; '.join(why[:3])}" if why else "")
              + (f" ({infeasible} with fewer round trips than --min-trades, or no objective)" if infeasible else ""))
        return
    pct = lambda x: f"{x if x is not None else float('nan'):+.2%}"  # noqa: E731
    print(f"  best {report['objective']}: {best['objective']:.4f} at {best['params']}"
          f" (CAGR {pct(best.get('cagr'))}, max drawdown {pct(best.get('max_drawdown'))},"
          f" {int(best.get('trades') or 0)} round trips)")
    top = reporting.valid_trials(sweep).nlargest(5, "objective")
    print(top[[*sweep.params, "objective", "cagr", "max_drawdown", "trades"]].to_string(index=False))
    if "deflated_sharpe" in report:
        d = report["deflated_sharpe"]
        print(f"  deflated Sharpe: P(true Sharpe > luck of {d['trials']} trials) = {d['dsr']:.3f}"
              f" (daily Sharpe {d['sharpe_per_day']:.4f} vs threshold {d['threshold']:.4f})")
    if "pbo" in report:
        p = report["pbo"]
        print(f"  probability of backtest overfitting (CSCV, {p['splits']:,} splits of {p['blocks']} blocks): "
              f"{p['pbo']:.2%}")
    if "walk_forward" in report:
        w = report["walk_forward"]
        print(f"  walk-forward, {w['folds']} folds: in-sample {w['objective']} {w['is_mean']:.3f}, out-of-sample"
              f" {w['oos_mean']:.3f} (degradation {w['degradation']:+.3f}); stitched OOS Sharpe {w['oos_sharpe']:.3f}")
