"""Walk-forward cannot look ahead: a fold's choice depends on its in-sample bars only."""

import numpy as np
import pytest

from workbench.certify.faults import fault_named, inject
from workbench.feed import load_dataset_bars
from workbench.optimize import walk_forward
from workbench.optimize.walkforward import folds_of

POINTS = [{"fast": f, "slow": s} for f in (5, 10, 20) for s in (30, 60, 120)]
FOLDS = 3


def replaced_oos(bars, fold):
    """The bars with ``fold``'s out-of-sample block reflected around its first open (p ->
    pivot^2 / p: rises become falls): a market the fold never saw."""
    out = bars.copy()
    block = slice(fold.is_end, fold.oos_end)
    pivot = float(bars["open"].iloc[fold.is_end])
    for target, source in (("open", "open"), ("high", "low"), ("low", "high"), ("close", "close")):
        out.iloc[block, out.columns.get_loc(target)] = pivot * pivot / bars[source].iloc[block].to_numpy()
    return out


def choices(bars):
    folds = walk_forward("sma_cross", bars, POINTS, folds=FOLDS, jobs=1).folds
    return [(int(r.best_fast), int(r.best_slow)) for r in folds.itertuples()]


@pytest.fixture(scope="module")
def sp500():
    return load_dataset_bars("sp500")


def test_folds_are_consecutive_blocks():
    folds = folds_of(5031, 3)
    assert [(f.is_start, f.is_end, f.oos_end) for f in folds] == [(0, 1257, 2514), (1257, 2514, 3771),
                                                                   (2514, 3771, 5031)]
    assert [(f.is_start, f.is_end) for f in folds_of(5031, 3, "anchored")] == [(0, 1257), (0, 2514), (0, 3771)]


def test_perturbing_a_folds_out_of_sample_bars_leaves_its_choice(sp500):
    first = folds_of(len(sp500), FOLDS)[0]
    before, after = choices(sp500), choices(replaced_oos(sp500, first))
    assert after[0] == before[0]


def test_a_walk_forward_that_looks_ahead_is_caught(sp500):
    first = folds_of(len(sp500), FOLDS)[0]
    with inject(fault_named("walk_forward_lookahead")):
        before, after = choices(sp500), choices(replaced_oos(sp500, first))
    assert after[0] != before[0]  # the out-of-sample bars moved fold 1's choice: the same
    # perturbation is strong enough to be seen by a walk-forward that peeks


def test_out_of_sample_returns_start_after_the_in_sample_block(sp500):
    wf = walk_forward("sma_cross", sp500, POINTS, folds=FOLDS, jobs=1)
    for fold, row in zip(folds_of(len(sp500), FOLDS), wf.folds.itertuples()):
        assert row.oos_start == sp500.index[fold.is_end] and row.is_end == sp500.index[fold.is_end - 1]
    assert wf.oos_returns.index.min() >= sp500.index[folds_of(len(sp500), FOLDS)[0].is_end].normalize()
    assert np.isfinite(wf.summary()["oos_sharpe"])
