"""3. Optimization integration: a sweep, the fast path, walk-forward and the overfitting
statistics, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.certify import reference, scenarios
from workbench.certify.context import Context
from workbench.certify.report import Check, all_near, same

WALK_FOLDS = 3


def _textbook_sharpe(equity: pd.Series, starting_cash: float) -> float:
    """Sharpe (252 a year) of the daily closes of ``equity`` as returns from the starting cash."""
    daily = equity.groupby(equity.index.normalize()).last().to_numpy(dtype=float)
    values = np.concatenate([[starting_cash], daily])
    return reference.textbook_statistics(values[1:] / values[:-1] - 1.0, 252)["sharpe"]


def engine_runs(ctx: Context) -> dict[tuple[int, int], object]:
    """The event-driven engine over the S&P 500 for every point of the small sweep."""
    from workbench.engine import backtest
    from workbench.strategies import SmaCross

    sw = ctx.once(scenarios.small_sweep)
    # the event loop itself (fast_path=False): backtest() would take the sparse route, whose
    # decisions come from the same vectorized targets as the sweep's, and the comparison
    # would no longer be with an independent path
    return {(p["fast"], p["slow"]): backtest(SmaCross(**p), sw.bars, fast_path=False) for p in sw.points}


def sweep_objectives_match_the_engine(ctx: Context) -> Check:
    """Every trial's objective (Sharpe) against the textbook Sharpe ratio of the event-driven
    engine's run of the same parameters."""
    sw = ctx.once(scenarios.small_sweep)
    runs = ctx.once(engine_runs)
    trials = sw.sweep.trials.set_index(["fast", "slow"])
    items = [(f"fast={f} slow={s}", float(trials.loc[(f, s), "objective"]),
              _textbook_sharpe(run.equity, run.starting_cash)) for (f, s), run in runs.items()]
    ctx.record("optimization.sweep_objectives", [(label, m) for label, m, _ in items],
               best=sw.sweep.best["params"] if sw.sweep.best else None)
    return all_near(items, rel=1e-9, what=f"the Sharpe ratio of {len(items)} trials")


def fast_path_equals_the_engine(ctx: Context) -> Check:
    """The vectorized fast path's summary against the event-driven engine's, every figure
    (fills hash included)."""
    from workbench.optimize import fastpath
    from workbench.strategies import SmaCross

    sw = ctx.once(scenarios.small_sweep)
    runs = ctx.once(engine_runs)
    measured, expected = [], []
    for (fast, slow), run in runs.items():
        measured.append(fastpath.run(SmaCross(fast=fast, slow=slow), sw.bars).summary())
        expected.append(run.summary())
    return same(measured, expected, what=f"fast-path summaries of {len(expected)} parameter sets against the engine's")


def walk_forward_chooses_in_sample(ctx: Context) -> Check:
    """Rolling and anchored: each fold's parameters are the best in-sample ones by brute
    force (the engine on the in-sample bars only), its in-sample and out-of-sample blocks
    start where they should, and replacing a fold's out-of-sample bars with others leaves
    its choice unchanged."""
    from workbench.optimize import walk_forward

    sw = ctx.once(scenarios.small_sweep)
    bars, points = sw.bars, sw.points
    size = len(bars) // (WALK_FOLDS + 1)
    measured, expected = [], []
    for mode in ("rolling", "anchored"):
        run = walk_forward("sma_cross", bars, points, folds=WALK_FOLDS, mode=mode, jobs=1)
        if mode == "rolling":
            wf = run
        for k, row in enumerate(run.folds.itertuples()):
            is_start, is_end = (k * size if mode == "rolling" else 0), (k + 1) * size
            best = _best_in_sample(bars.iloc[is_start:is_end], points)
            measured.append((mode, row.fold, str(row.is_start.date()), str(row.oos_start.date()), row.best_fast,
                             row.best_slow))
            expected.append((mode, k + 1, str(bars.index[is_start].date()), str(bars.index[is_end].date()),
                             best["fast"], best["slow"]))
    # Fold 1's out-of-sample block, replaced by its own bars reflected around their first
    # open (p -> pivot^2 / p: rises become falls, highs become lows): a market fold 1 never
    # saw, so its choice must not move.
    mirrored = bars.copy()
    block = slice(size, 2 * size)
    pivot = float(bars["open"].iloc[size])
    for target, source in (("open", "open"), ("high", "low"), ("low", "high"), ("close", "close")):
        mirrored.iloc[block, mirrored.columns.get_loc(target)] = pivot * pivot / bars[source].iloc[block].to_numpy()
    again = walk_forward("sma_cross", mirrored, points, folds=WALK_FOLDS, jobs=1).folds.iloc[0]
    measured.append(("fold 1 with its out-of-sample bars replaced", again.best_fast, again.best_slow))
    expected.append(("fold 1 with its out-of-sample bars replaced", measured[0][4], measured[0][5]))
    ctx.record("optimization.walk_forward", wf.folds.drop(columns=["is_start", "is_end", "oos_end"]),
               oos_sharpe=wf.summary()["oos_sharpe"])
    return same(measured, expected, what="(mode, fold, first in-sample day, first out-of-sample day, chosen fast, "
                                         "slow)")


def _best_in_sample(window, points: list[dict]) -> dict:
    """The point with the best textbook Sharpe ratio on ``window``, by the event-driven engine."""
    from workbench.engine import backtest
    from workbench.strategies import SmaCross

    scores = [_textbook_sharpe(r.equity, r.starting_cash)
              for r in (backtest(SmaCross(**p), window, fast_path=False) for p in points)]
    return points[int(np.nanargmax(scores))]


def objectives_mean_what_they_say(ctx: Context) -> Check:
    """Every objective a sweep or a walk-forward fold can rank by, for one trial's equity:
    the sweep's statistics and walk-forward's objective against the textbook formulas
    (calmar = CAGR / |max drawdown|)."""
    from workbench.analytics.performance import equity_statistics
    from workbench.optimize import walkforward

    run = next(iter(ctx.once(engine_runs).values()))
    daily = run.equity.groupby(run.equity.index.normalize()).last()
    values = np.concatenate([[run.starting_cash], daily.to_numpy(dtype=float)])
    returns = pd.Series(values[1:] / values[:-1] - 1.0, index=daily.index)
    textbook = reference.textbook_statistics(returns.to_numpy(), 252)
    stats = equity_statistics(run.equity, run.starting_cash)
    items = []
    for name in ("sharpe", "sortino", "cagr", "total_return", "calmar", "max_drawdown"):
        items.append((f"sweep {name}", stats[name], textbook[name]))
        items.append((f"walk-forward {name}", walkforward.objective_value(returns, name), textbook[name]))
    return all_near(items, rel=1e-9, what="six objectives of one trial, as the sweep and walk-forward compute them")


def pbo_matches_brute_force(ctx: Context) -> Check:
    """The probability of backtest overfitting that ``workbench optimize`` reports for the
    sweep, and every split's logit behind it, against a brute-force CSCV over the same
    daily returns with the same number of blocks."""
    from workbench.optimize import overfit
    from workbench.optimize.reporting import PBO_BLOCKS

    sw = ctx.once(scenarios.small_sweep)
    reported = ctx.once(scenarios.sweep_report)["pbo"]
    m = sw.returns.to_numpy()
    ours = np.asarray(overfit.pbo(m, blocks=PBO_BLOCKS).logits, dtype=float).tolist()
    want, logits = reference.cscv_pbo(m, PBO_BLOCKS)
    if len(ours) != len(logits) or reported["splits"] != len(logits):
        return same((len(ours), reported["splits"]), (len(logits), len(logits)), what="CSCV splits")
    items = [("PBO as reported", reported["pbo"], want),
             *((f"logit of split {i + 1}", a, b) for i, (a, b) in enumerate(zip(ours, logits)))]
    ctx.record("optimization.pbo", [reported["pbo"], ours], pbo=reported["pbo"])
    check = all_near(items, rel=1e-9, what=f"PBO {reported['pbo']:.4f} (brute force {want:.4f}) and the logits of "
                                           f"its {len(logits)} splits, {m.shape[1]} trials over {m.shape[0]} days")
    check.measured, check.expected, check.unit = reported["pbo"], want, "probability"
    return check


def deflated_sharpe_matches_the_formula(ctx: Context) -> Check:
    """The deflated Sharpe ratio that ``workbench optimize`` reports for the sweep's best
    trial against Bailey and Lopez de Prado's formula computed from the returns' moments,
    with the variance of the trials' per-day Sharpe ratios computed here."""
    sw = ctx.once(scenarios.small_sweep)
    got = ctx.once(scenarios.sweep_report)["deflated_sharpe"]
    ok = sw.sweep.trials[sw.sweep.trials["status"] == "ok"]
    best = sw.sweep.best["params"]
    returns = sw.returns[(best["fast"], best["slow"])].to_numpy()
    variance = float(np.var(ok["sharpe"].to_numpy(dtype=float) / np.sqrt(252), ddof=1))
    want = reference.deflated_sharpe(returns, len(ok), variance)
    items = [("per-day Sharpe", got["sharpe_per_day"], want["sharpe"]),
             ("luck threshold SR0", got["threshold"], want["threshold"]), ("DSR", got["dsr"], want["dsr"]),
             ("trials", got["trials"], len(ok))]
    ctx.record("optimization.deflated_sharpe", [got["sharpe_per_day"], got["threshold"], got["dsr"]], dsr=got["dsr"])
    check = all_near(items, rel=1e-9, what=f"the deflated Sharpe ratio {got['dsr']:.4f} of the best of {len(ok)} "
                                           f"trials")
    check.measured, check.expected, check.unit = got["dsr"], want["dsr"], "probability"
    return check


CHECKS = [sweep_objectives_match_the_engine, fast_path_equals_the_engine, walk_forward_chooses_in_sample,
          objectives_mean_what_they_say,
          pbo_matches_brute_force, deflated_sharpe_matches_the_formula]
