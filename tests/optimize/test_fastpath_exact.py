"""A sweep's trials on the fast path against the same trials on the engine, every figure bit
for bit (the fast path's promise), over a grid and the cost, slippage and account options."""

import dataclasses
import struct

import pytest

from workbench.feed import load_dataset_bars, synthetic_bars
from workbench.optimize.trial import TrialSpec, data_hash, run_batch

SP500 = load_dataset_bars("sp500")
POINTS = [{"fast": f, "slow": s, "quantity": q} for f in (2, 7, 19) for s in (20, 33, 80) for q in (100.0, 350.0)]


def _bits(trial: dict) -> dict:
    """The trial's figures, floats as their bytes (so -0.0 and 0.0 differ), without what is
    allowed to differ (timing, which path ran)."""
    return {k: struct.pack("<d", v) if isinstance(v, float) else v for k, v in trial.items()
            if k not in ("duration_s", "path")}


@pytest.mark.parametrize("bars, options", [
    (SP500.iloc[:1200], {}),
    (SP500.iloc[2000:2900], {"commission": "ibkr-fixed", "slippage": "bps:5"}),
    (synthetic_bars(1, days=400, seed=11, tick_size=0.05), {"account_type": "margin", "cash": 40_000.0}),
    (synthetic_bars(1, days=400, seed=12), {"cash": 30_000.0, "commission": "ibkr-fixed"}),
])
def test_a_sweep_on_the_fast_path_gives_the_engines_trials_bit_for_bit(bars, options):
    spec = TrialSpec("sma_cross", tuple(sorted(options.items())), "sharpe", 1, data_hash([bars]))
    fast = run_batch(spec, (bars,), POINTS)
    engine = run_batch(dataclasses.replace(spec, fast=False), (bars,), POINTS)
    assert all(t["path"] == "engine" for t in engine)
    assert sum(t.get("path") == "fast" for t in fast) >= len(POINTS) // 2  # mostly the fast path
    for a, b in zip(fast, engine, strict=True):
        assert _bits(a) == _bits(b), a["params"]
