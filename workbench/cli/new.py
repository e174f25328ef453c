"""``workbench new strategy NAME``: a documented strategy file to start from, and its test."""

from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path

from workbench.errors import ConfigError
from workbench.paths import check_writable

STRATEGY = '''"""{title}: a strategy of your own (written by `workbench new strategy {name}`).

Run it like a built-in one; its typed class fields are its parameters (`-p`, `--grid`):

    workbench backtest --strategy-file {name}.py:{cls} --data sp500 -p lookback=50
    workbench optimize --strategy-file {name}.py:{cls} --data sp500 --grid lookback=10:100:10
    workbench paper --strategy-file {name}.py:{cls} --data sp500 --speed 2e6 --out runs/{name}

and test it with `python -m pytest test_{name}.py`. The engine calls `on_bar` once a bar has
closed; orders placed there fill from the next bar on (`docs/broker.md` has the fill rules).
`self.history(symbol, field, n)` holds the bars seen so far, the current one last: nothing
later exists, so the strategy cannot look ahead.
"""

from workbench.strategies import Strategy


class {cls}(Strategy):
    """Hold `quantity` units after a close at the highest of the last `lookback` closes; go
    flat after a close at the lowest of them (a Donchian breakout). Replace with your rules."""

    lookback: int = 20  # bars in the channel; nothing is traded before that many are seen
    quantity: float = 100.0  # units held while long

    def check_params(self) -> None:
        """Refuse parameters the rules cannot use (a ConfigError names the parameter)."""
        from workbench.errors import ConfigError

        if self.lookback < 2:
            raise ConfigError(f"parameter lookback: at least 2, got {{self.lookback}}")
        if self.quantity <= 0:
            raise ConfigError(f"parameter quantity: must be positive, got {{self.quantity}}")

    def warmup(self) -> int:
        """Bars a symbol needs before this strategy can trade it (a shorter run is warned about)."""
        return self.lookback

    def on_bar(self, bar) -> None:
        closes = self.history(bar.symbol, "close", self.lookback)
        if len(closes) < self.lookback:
            return
        if bar.close >= closes.max():
            self.target_position(bar.symbol, self.quantity)
        elif bar.close <= closes.min():
            self.target_position(bar.symbol, 0.0)
'''

TEST = '''"""Tests of {name}.py: it trades on seeded synthetic bars, only after its warm-up, and only as
its rules say. Run with `python -m pytest test_{name}.py`."""

import importlib.util
from pathlib import Path

import pytest

from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import synthetic_bars

_spec = importlib.util.spec_from_file_location("{name}", Path(__file__).with_name("{name}.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
{cls} = _module.{cls}


def test_it_trades_and_only_after_its_warm_up():
    bars = synthetic_bars(["AAA"], periods=300, seed=1)
    result = backtest({cls}(lookback=20), bars)
    assert len(result.fills) > 0
    assert result.fills["time"].min() > bars.index[19]  # fills come after the 20th bar has closed


def test_it_holds_quantity_or_nothing():
    bars = synthetic_bars(["AAA"], periods=300, seed=2)
    result = backtest({cls}(lookback=10, quantity=50), bars)
    held = result.fills.assign(signed=result.fills["quantity"].where(result.fills["side"] == "buy",
                                                                     -result.fills["quantity"]))
    assert set(held["signed"].cumsum().round(9)) <= {{0.0, 50.0}}


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ConfigError, match="lookback"):
        {cls}(lookback=1)
'''


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("new", help="write a file to start from: `new strategy NAME`", parents=[common])
    p.add_argument("what", choices=["strategy"], help="what to write")
    p.add_argument("name", help="its name in snake_case, e.g. my_breakout (the file is NAME.py)")
    p.add_argument("--dir", type=Path, default=Path("."), help="where to write NAME.py and test_NAME.py (here)")
    p.set_defaults(func=new_command)


def new_command(args: argparse.Namespace) -> int:
    name = args.name
    if keyword.iskeyword(name):
        raise ConfigError(f"new strategy: {name!r} is a Python keyword; choose another name")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"new strategy: {name!r} is not a snake_case name (letters, digits, _; e.g. my_breakout)")
    if name.startswith("test"):
        raise ConfigError(f"new strategy: {name!r} would be collected by pytest as a test; choose another name")
    cls = "".join(part.title() for part in name.split("_") if part)
    targets = [args.dir / f"{name}.py", args.dir / f"test_{name}.py"]
    there = [str(t) for t in targets if t.exists()]
    if there:
        raise ConfigError(f"new strategy: {', '.join(there)} already exist(s); nothing written")
    check_writable(args.dir, "--dir")
    title = name.replace("_", " ").capitalize()
    targets[0].write_text(STRATEGY.format(name=name, cls=cls, title=title))
    targets[1].write_text(TEST.format(name=name, cls=cls))
    print(f"wrote {targets[0]} (class {cls}) and {targets[1]}")
    print(f"  run it:   workbench backtest --strategy-file {targets[0]}:{cls} --data sp500")
    print(f"  test it:  python -m pytest {targets[1]}")
    return 0
