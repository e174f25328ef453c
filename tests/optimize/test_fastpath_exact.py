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


@pytest.mark.parametrize("options", [{}, {"account_type": "margin"}])
def test_an_order_off_the_lot_size_goes_to_the_engine_which_refuses_it(options):
    """Found by a break-it review: the fast path checked only the money, so a quantity of 0.3
    or 2.5 units (the broker's lot is 1) scored 20 fills where the engine refused every order
    (OFF_LOT) and found the trial infeasible."""
    bars = synthetic_bars(1, days=80, seed=5)
    points = [{"fast": 2, "slow": 5, "quantity": q} for q in (0.3, 2.5, 3.0)]
    spec = TrialSpec("sma_cross", tuple(sorted({"cash": 3000.0, **options}.items())), "sharpe", 1, data_hash([bars]))
    fast = run_batch(spec, (bars,), points)
    engine = run_batch(dataclasses.replace(spec, fast=False), (bars,), points)
    assert [t["path"] for t in fast] == ["engine", "engine", "fast"]
    assert [t["status"] for t in engine[:2]] == ["infeasible", "infeasible"] and engine[0]["fills"] == 0
    for a, b in zip(fast, engine, strict=True):
        assert _bits(a) == _bits(b), a["params"]


def test_the_equity_curve_is_the_running_sums_over_every_bar_bit_for_bit():
    """score's curve (running sums over the bars with fills, held between them) against the
    plain running sums over every bar, on real fills and on fills two to a bar, out of order,
    none and on no bars."""
    import numpy as np

    from workbench.optimize import fastpath
    from workbench.strategies import SmaCross

    def every_bar(close, fills, cash):
        flows, moves = np.zeros(len(close)), np.zeros(len(close))
        for f in fills:
            flows[f.bar] += -(f.sign * f.quantity * f.price) - f.commission
            moves[f.bar] += f.sign * f.quantity
        return cash + np.cumsum(flows) + np.cumsum(moves) * close

    sims = [fastpath._simulate(SmaCross(fast=f, slow=s), SP500, 1e6, c, sl, "cash")
            for f, s in ((2, 60), (13, 90), (40, 250)) for c, sl in ((None, None), ("ibkr-fixed", "bps:5"))]
    fills = sims[0].fills
    sims += [sims[0]._replace(fills=[fills[0], fills[0]._replace(quantity=3.3, price=7.1), *fills[1:4],
                                     fills[4]._replace(bar=0)]),
             sims[0]._replace(fills=[]), sims[0]._replace(fills=[], close=sims[0].close[:0])]
    for sim in sims:
        want = every_bar(sim.close, sim.fills, 1e6)
        assert fastpath._equity_values(sim.close, sim.fills, 1e6).tobytes() == want.tobytes()


def test_an_in_process_sweep_converts_its_frame_once(monkeypatch):
    """Not once a batch (nor once more for supports): ~2 ms a conversion of sp500's bars."""
    from workbench.optimize import fastpath, sweep

    calls = []
    per_bar = fastpath._per_bar
    monkeypatch.setattr(fastpath, "_per_bar", lambda index: calls.append(1) or per_bar(index))
    bars = SP500.iloc[:600]
    result = sweep("sma_cross", [bars], POINTS, jobs=1, batch_size=3)
    assert (result.trials["path"] == "fast").all() and len(calls) == 1
    assert fastpath._shared.depth == 0 and fastpath._shared.frame is None  # let go at the end


def test_the_cost_free_fills_are_the_order_by_order_loops():
    """_simulate without costs (running sums) against its order-by-order loop, which a
    subclass of the free models takes: every fill, None where an order would be refused
    (cash and margin accounts, cash from plenty down to none, buy-and-hold past its cash)."""
    import numpy as np

    from workbench.broker.costs import NoCommission, NoSlippage
    from workbench.optimize import fastpath
    from workbench.strategies import BuyAndHold, SmaCross

    class Free(NoCommission):
        pass

    class Exact(NoSlippage):
        pass

    refused = 0
    for bars in (SP500.iloc[:1500], synthetic_bars(1, days=400, seed=2, tick_size=1e-6)):
        strategies = [SmaCross(fast=f, slow=s, quantity=q) for f, s in ((1, 3), (5, 20), (13, 61)) for q in (1.0, 1234.5)]
        for strategy in strategies + [BuyAndHold(quantity=10.0), BuyAndHold(quantity=1e7)]:
            q, close = strategy.params["quantity"], bars["close"].to_numpy()
            near = [(q * close.max() * x, a) for x in np.linspace(0.3, 1.2, 40) for a in ("cash", "margin")]
            for cash, account in [(1e6, "cash"), (2e4, "cash"), (0.0, "cash"), (1e6, "margin"), (5e3, "margin"), *near]:
                fast = fastpath._simulate(strategy, bars, cash, None, None, account)
                loop = fastpath._simulate(strategy, bars, cash, Free(), Exact(), account)
                refused += fast is None
                assert (fast is None) == (loop is None)
                if fast is not None:
                    assert fast.orders == loop.orders and len(fast.fills) == len(loop.fills)
                    for a, b in zip(fast.fills, loop.fills):
                        assert [(type(x), x) for x in a] == [(type(x), x) for x in b]
                        assert struct.pack("<2d", a.price, a.quantity) == struct.pack("<2d", b.price, b.quantity)
    assert 0 < refused < 1000
