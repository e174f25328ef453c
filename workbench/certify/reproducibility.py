"""7. Reproducibility: every deterministic output of the run against the goldens shipped for
its profile and seed, the same seed twice giving the same outputs, another seed other data.

The goldens (``goldens.json``) hold each output's hash and a few of its figures for the
default seeds; a mismatch names the outputs that changed and how their figures moved. A
deliberate change of behaviour updates them with ``workbench certify --update-goldens``
(for the profile and seed given), after a run in which every other check passed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from workbench.certify.context import Context, digest
from workbench.certify.report import Check, same

GOLDENS_FILE = Path(__file__).with_name("goldens.json")
# Checks whose outputs are left to the goldens rather than computed a second time: each
# takes a second or more (process kills, dozens of backtests).
NOT_RERUN = {"sigkill_recovery", "walk_forward_chooses_in_sample", "sweep_objectives_match_the_engine",
             "pbo_matches_brute_force"}


def golden_key(params: dict[str, Any]) -> str:
    """The goldens' name for the parameters that shape the outputs: profile and seed, and
    the number of crash trials when it is not the profile's."""
    from workbench.certify.context import PROFILES

    key = f"{params['profile']}/seed={params['seed']}"
    trials = params.get("crash_trials")
    if trials is not None and trials != PROFILES[params["profile"]]["crash_trials"]:
        key += f"/crash_trials={trials}"
    return key


def load_goldens(params: dict[str, Any], path: Path = GOLDENS_FILE) -> dict[str, dict[str, Any]] | None:
    """The shipped outputs for these parameters, or ``None`` when none are shipped."""
    if not path.is_file():
        return None
    entry = json.loads(path.read_text()).get(golden_key(params))
    return None if entry is None else entry["outputs"]


def save_goldens(outputs: dict[str, dict[str, Any]], params: dict[str, Any], provenance: dict[str, Any],
                 path: Path = GOLDENS_FILE) -> Path:
    """Replace the goldens of one set of parameters (the others are kept)."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[golden_key(params)] = {"recorded": provenance, "outputs": dict(sorted(outputs.items()))}
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1, sort_keys=True) + "\n")
    return path


def outputs_match_the_goldens(ctx: Context) -> Check:
    """Each output recorded in this run against its golden hash (those of the categories
    that ran); an output with no golden is an error too (the goldens are out of date)."""
    if ctx.goldens is None:
        key = golden_key(ctx.params)
        return Check("", True, len(ctx.outputs), None, None, "outputs",
                     f"not compared: no goldens ship for {key} ({len(ctx.outputs)} outputs recorded; "
                     f"`workbench certify --update-goldens` with the same parameters records them)")
    changed, compared = [], 0
    for name, out in sorted(ctx.outputs.items()):
        gold = ctx.goldens.get(name)
        if gold is None:
            changed.append(f"{name}: no golden (run `workbench certify --update-goldens`)")
            continue
        compared += 1
        if gold["sha256"] != out["sha256"]:
            moved = {k: f"{gold['figures'].get(k)} -> {v}" for k, v in out["figures"].items()
                     if gold["figures"].get(k) != v}
            changed.append(f"{name} changed ({gold['sha256'][:10]} -> {out['sha256'][:10]}"
                           + (f"; {', '.join(f'{k} {v}' for k, v in moved.items())}" if moved else "") + ")")
    if not changed:
        return Check("", True, compared, compared, None, "outputs",
                     f"all {compared} outputs equal the goldens of {ctx.golden_source}")
    shown = "; ".join(changed[:6]) + (f"; {len(changed) - 6} more" if len(changed) > 6 else "")
    return Check("", False, compared - len(changed), compared, None, "outputs",
                 f"{len(changed)} of {len(ctx.outputs)} outputs differ from the goldens of {ctx.golden_source}: "
                 f"{shown}")


def same_seed_same_outputs(ctx: Context) -> Check:
    """The checks that recorded this run's outputs, run again in a fresh context with the
    same seed: every output hashes the same (the slowest few are left to the goldens)."""
    from workbench.certify.market_data import seeds_give_their_own_data
    from workbench.certify.trading import journal_round_trip

    producers = [fn for name, fn in ctx.producers.items() if name not in NOT_RERUN]
    base = dict(ctx.outputs)
    if not producers:  # nothing recorded yet: run two producers twice
        producers = [seeds_give_their_own_data, journal_round_trip]
        first = _fresh(ctx)
        for fn in producers:
            fn(first)
        base = first.outputs
    again = _fresh(ctx)
    for fn in producers:
        fn(again)
    names = [fn.__name__ for fn in producers]
    common = sorted(set(base) & set(again.outputs))
    differ = [f"{n}: {base[n]['sha256'][:10]} then {again.outputs[n]['sha256'][:10]}" for n in common
              if base[n]["sha256"] != again.outputs[n]["sha256"]]
    check = same(differ, [], what=f"{len(common)} outputs of {len(names)} checks computed twice with seed {ctx.seed}")
    check.measured, check.expected, check.unit = len(common) - len(differ), len(common), "outputs"
    if not differ:
        check.detail = f"{len(common)} outputs of {len(names)} checks computed twice with seed {ctx.seed}: identical"
    return check


def outputs_depend_on_the_seed(ctx: Context) -> Check:
    """Another seed gives other data: sma_cross over synthetic bars of this seed and the next
    fill differently."""
    from workbench.engine import backtest
    from workbench.feed import synthetic_bars
    from workbench.strategies import SmaCross

    fills = [digest(backtest(SmaCross(), synthetic_bars(2, days=300, seed=s)).fills_csv().decode())
             for s in (ctx.seed, ctx.seed, ctx.seed + 1)]
    return same([fills[0] == fills[1], fills[0] != fills[2]], [True, True],
                what=f"sma_cross fills over synthetic bars: [seed {ctx.seed} twice identical, seed {ctx.seed + 1} "
                     f"different] ({fills[0][:10]}, {fills[1][:10]}, {fills[2][:10]})")


def _fresh(ctx: Context) -> Context:
    folder = Path(tempfile.mkdtemp(prefix="again-", dir=ctx.workdir))
    return Context(params=ctx.params, thresholds=ctx.thresholds, workdir=folder)


CHECKS = [outputs_match_the_goldens, same_seed_same_outputs, outputs_depend_on_the_seed]
