"""The command line's session leaves what exists when the run starts out of the garbage
collector's passes (gc.freeze) while it runs, and gives it back after; a session run from
Python (a notebook's kernel) leaves the collector as it is.

Why: a full collection walks every object of the process (modules, data, the engine), tens
of milliseconds; landing inside a place_order it is that order's latency, which a paper
session's latency alert reads (tests/monitor/test_watchdog.py's slowed broker fired twice)."""

import gc

import pytest

from workbench.cli import main
from workbench.session import SessionConfig, run_session
from workbench.strategies import STRATEGIES, register
from workbench.strategies.base import Strategy

SEEN: list[int] = []


class FreezeProbe(Strategy):
    """Notes how many objects the collector holds frozen at the first bar."""

    name = "freeze_probe"
    parameters = {}

    def on_bar(self, bar):
        if not SEEN:
            SEEN.append(gc.get_freeze_count())


@pytest.fixture
def probe():
    register(FreezeProbe)
    SEEN.clear()
    yield SEEN
    STRATEGIES.pop(FreezeProbe.name, None)


@pytest.mark.parametrize("mode", ["backtest", "paper"])
def test_the_command_line_freezes_what_exists_while_the_run_runs_and_thaws_it_after(tmp_path, probe, mode, capsys):
    before = gc.get_freeze_count()
    assert before == 0  # (nothing of the test process's is frozen)
    speed = ["--speed", "1e9"] if mode == "paper" else []
    assert main([mode, "freeze_probe", "--data", "sp500", "--end", "2000-03-01", "--out", str(tmp_path / "run"),
                 *speed]) == 0
    assert probe and probe[0] > before + 10_000  # the process's objects, left out while it ran
    assert gc.get_freeze_count() == before  # and given back


def test_a_process_that_froze_objects_itself_keeps_them_frozen(tmp_path, probe):
    """Found by a break-it review: gc.unfreeze thaws everything, the host's frozen objects too."""
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert main(["backtest", "freeze_probe", "--data", "sp500", "--end", "2000-03-01",
                     "--out", str(tmp_path / "run")]) == 0
        # no second freeze (it would add what the run made) and no thaw (it would leave none);
        # frozen objects freed by their last reference leave the count, so it can only fall
        assert probe[0] <= before and before // 2 < gc.get_freeze_count() <= before
    finally:
        gc.unfreeze()


def test_a_session_run_from_python_leaves_the_collector_alone(tmp_path, probe):
    before = gc.get_freeze_count()
    run_session(SessionConfig(strategy="freeze_probe", data=("sp500",), end="2000-03-01", out=tmp_path / "run"))
    assert probe == [before]
