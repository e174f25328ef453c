"""Reliability trials: SIGKILL-then-resume of a paper session, and journal corruption.

* crash trials: ``workbench paper every_bar`` (an order every bar, a fill from the second
  bar on; 1,256 S&P 500 bars, fully synced journal) killed with SIGKILL after a random
  delay up to the length of a run, then ``--resume``d to the end; each resumed run's fills
  SHA-256 must equal the uninterrupted run's.
* corruption trials: a copy of that run's journal damaged at random (an edited price or
  quantity, a deleted, swapped or cut-off event, random bytes anywhere in the file, a
  truncated file); ``workbench journal verify`` must report each, naming a first bad
  sequence number before which nothing differs from the undamaged journal.

Run: ``make bench`` or ``python benchmarks/bench_reliability.py [--kills N] [--corruptions N]``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets  # noqa: E402

from workbench.broker.journal import verify  # noqa: E402
from workbench.reliability import corruption_trial, paper_run, resume_trial  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILL-then-resume trials (200)")
    parser.add_argument("--corruptions", type=int, default=100, help="corrupted journals (100)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    out = Targets("bench_reliability", parser, args)  # the machine's state before the work

    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        folder = Path(tmp)
        paper_run(folder / "warm-up")
        t0 = time.perf_counter()
        expected = paper_run(folder / "reference")
        seconds = time.perf_counter() - t0
        journal = folder / "reference" / "journal.sqlite"
        total = verify(journal).head_seq + 1
        print(f"reference run: {total:,} journal events in {seconds:.2f} s, fills sha256 {expected[:16]}...")

        t0 = time.perf_counter()
        trials = []
        for seed in range(args.kills):
            trials.append(resume_trial(folder / "kills", seed, expected, seconds))
            if (seed + 1) % 25 == 0:
                print(f"  {seed + 1} kills, {sum(t.passed for t in trials)} resumed identically", flush=True)
        passed = sum(t.passed for t in trials)
        inside = sum(0 < t.events_at_kill < total for t in trials)
        before = sum(not t.resumed for t in trials)
        # The delays are drawn over the whole run, which goes on after its last journal event
        # (results, summary): many kills land there, and their resume has nothing left to do
        after = sum(t.events_at_kill == total for t in trials)
        where = f"{inside} killed inside the run, {before} before its first event, {after} after its last"
        figures["crash"] = {"trials": len(trials), "identical": passed, "killed_inside_the_run": inside,
                            "killed_before_the_first_event": before, "killed_after_the_end": after,
                            "seconds": time.perf_counter() - t0,
                            "failures": [t.__dict__ for t in trials if not t.passed][:5]}
        print(f"crash trials: {passed} of {len(trials)} resumed runs identical to the uninterrupted one "
              f"({where}) in {figures['crash']['seconds']:.0f} s")

        t0 = time.perf_counter()
        damaged = [corruption_trial(journal, folder / "damaged", seed) for seed in range(args.corruptions)]
        by_kind = collections.Counter(d.kind for d in damaged)
        detected = sum(d.passed for d in damaged)
        figures["corruption"] = {"trials": len(damaged), "detected_with_first_bad_seq": detected,
                                 "by_kind": dict(sorted(by_kind.items())),
                                 "free_space_redraws": sum(d.redraws for d in damaged),
                                 "seconds": time.perf_counter() - t0,
                                 "failures": [d.__dict__ for d in damaged if not d.passed][:5]}
        print(f"corruption trials: {detected} of {len(damaged)} detected with the first bad sequence named "
              f"({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}; "
              f"{figures['corruption']['free_space_redraws']} byte damages that changed no event drawn again)")
    out.figures.update(figures)
    out.add("SIGKILL `workbench paper every_bar` anywhere, then --resume",
            f"{passed}/{len(trials)} resumed runs' fills identical to the uninterrupted run ({where})",
            "all", passed, "==", len(trials))
    out.add("damaged journals (edits, deletions, swaps, cut tails, random bytes, truncated files)",
            f"{detected}/{len(damaged)} reported with the first bad sequence named", "all", detected, "==", len(damaged))
    out.print()
    out.write(args.json)
    return 0 if passed == len(trials) and detected == len(damaged) else 1


if __name__ == "__main__":
    sys.exit(main())
