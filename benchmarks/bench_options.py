"""Options benchmark: pricing a chain, vectorized against a per-contract loop.

A 10,000-contract chain (calls and puts, strikes 60 % to 150 % of spot, 1 to 730 days, a
volatility each) priced with its greeks by ``workbench.options.price_chain`` (the closed
form over numpy arrays) and by a loop of ``price_option`` (QuantLib's ``BlackCalculator``,
one contract a call), interleaved (``harness.interleaved``: each warmed once, then
``--repeats`` rounds, best and median). The two are checked to agree to 1e-6 relative (an
absolute floor of 1e-9 of the spot) on every price and greek before a rate is printed.
Target (issue 18): >= 1,000,000 contracts/s vectorized; the ratio to the loop is measured.

Run: ``make bench`` or ``python benchmarks/bench_options.py [--contracts N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets, interleaved, same  # noqa: E402

from workbench.options import price_chain, price_option  # noqa: E402
from workbench.options.pricing import GREEKS  # noqa: E402


def chain(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spot = rng.uniform(20, 500, n)
    return pd.DataFrame({"spot": spot, "strike": spot * rng.uniform(0.6, 1.5, n), "days": rng.uniform(1, 730, n),
                         "rate": rng.uniform(0.0, 0.06, n), "dividend": rng.uniform(0, 0.04, n),
                         "vol": rng.uniform(0.08, 0.9, n), "right": rng.choice(["call", "put"], n)})


def loop(frame: pd.DataFrame) -> np.ndarray:
    out = np.empty((len(frame), len(GREEKS)))
    for i, r in enumerate(zip(frame["spot"].tolist(), frame["strike"].tolist(), frame["days"].tolist(),
                              frame["rate"].tolist(), frame["dividend"].tolist(), frame["vol"].tolist(),
                              frame["right"].tolist())):
        g = price_option(*r)
        out[i] = (g.price, g.delta, g.gamma, g.vega, g.theta, g.rho)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000, help="contracts in the chain (10,000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    out = Targets("bench_options", parser, args)
    frame = chain(args.contracts)
    n = len(frame)
    print(f"{n:,} European contracts with greeks: vectorized chain and per-contract QuantLib loop, interleaved",
          flush=True)
    times, got = interleaved({"vectorized": lambda: price_chain(frame)[list(GREEKS)].to_numpy(), "loop": lambda: loop(frame)},
                             repeats=args.repeats)
    ours, theirs = got["vectorized"], got["loop"]
    floor = 1e-9 * frame["spot"].to_numpy()[:, None]
    worst = float((np.abs(ours - theirs) / np.maximum(np.abs(theirs), floor)).max())
    same("prices and greeks to 1e-6 relative", worst < 1e-6, True, f"worst relative difference {worst:.2e}")
    vec, per = n / times["vectorized"].best, n / times["loop"].best
    out.figures.update(contracts=n, vectorized=dict(times["vectorized"]), loop=dict(times["loop"]),
                       worst_relative_difference=worst)
    for name, t in times.items():
        print(f"  {name:<11} best {t.best * 1000:8.2f} ms  median {t.median * 1000:8.2f} ms  {n / t.best:>14,.0f} contracts/s")
    print(f"  agree to {worst:.1e} relative (price and five greeks of every contract)")
    out.add(f"option chain, {n:,} contracts with greeks, vectorized (vs a per-contract QuantLib loop, interleaved)",
            f"{vec:,.0f} vs {per:,.0f} contracts/s: {vec / per:.0f}x", ">= 1,000,000 contracts/s", vec, ">=", 1e6)
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
