"""Search spaces: integers, floats (linear or log), choices; grid and random sampling."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import ConfigError


@dataclass(frozen=True)
class Int:
    """Integers ``low, low + step, ..., high`` (inclusive)."""

    low: int
    high: int
    step: int = 1

    def count(self) -> int:
        return (self.high - self.low) // self.step + 1

    def ends(self) -> list[int]:
        """The smallest and largest value (every value lies between them)."""
        return [self.low, self.low + self.step * (self.count() - 1)]

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def sample(self, rng: np.random.Generator) -> int:
        return self.low + self.step * int(rng.integers(self.count()))


@dataclass(frozen=True)
class Float:
    """Floats in ``[low, high]``; ``log`` samples evenly in log space; the grid has
    ``num`` points."""

    low: float
    high: float
    log: bool = False
    num: int = 10

    def count(self) -> int:
        return self.num

    def ends(self) -> list[float]:
        return [float(self.low), float(self.high)]

    def values(self) -> list[float]:
        if self.log:
            return [float(x) for x in np.geomspace(self.low, self.high, self.num)]
        return [float(x) for x in np.linspace(self.low, self.high, self.num)]

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Choice:
    """One of a few values."""

    options: tuple

    def count(self) -> int:
        return len(self.options)

    def ends(self) -> list:
        return list(self.options)

    def values(self) -> list:
        return list(self.options)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


Dimension = Int | Float | Choice


def parse_dimension(text: str, kind: type | None = None) -> tuple[str, Dimension]:
    """'fast=5:50:5' (ints, inclusive), 'x=0.1:1.0' or 'x=0.001:1:log' (floats),
    'mode=a,b,c' (choices) -> (name, dimension). Errors name the parameter. ``kind``: the
    parameter's type when known: a float parameter's 'x=0:2:5' is 5 floats from 0 to 2."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec.strip():
        raise ConfigError(f"--grid: expected NAME=LOW:HIGH[:STEP] or NAME=A,B,C, got {text!r}")
    spec = spec.strip()
    if ":" in spec:
        parts = spec.split(":")
        if all(re.fullmatch(r"-?\d+", p) for p in parts) and len(parts) in (2, 3) and kind is not float:
            low, high = int(parts[0]), int(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 1
            if step <= 0 or high < low:
                raise ConfigError(f"--grid {name}: need LOW <= HIGH and STEP > 0, got {spec!r}")
            return name, Int(low, high, step)
        try:
            low, high = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            raise ConfigError(f"--grid {name}: not a range: {spec!r}") from None
        log = len(parts) == 3 and parts[2] == "log"
        if len(parts) == 3 and not log:
            try:
                num = int(parts[2])
            except ValueError:
                raise ConfigError(f"--grid {name}: third part must be a count or 'log', got {parts[2]!r}") from None
            if num < 1:
                raise ConfigError(f"--grid {name}: the count must be >= 1, got {num}")
        else:
            num = 10
        if not (high > low) or (log and low <= 0):
            raise ConfigError(f"--grid {name}: need LOW < HIGH (and LOW > 0 for log), got {spec!r}")
        return name, Float(low, high, log=log, num=num)
    options = tuple(_scalar(v.strip()) for v in spec.split(","))
    return name, Choice(options)


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def grid_size(space: dict[str, Dimension]) -> int:
    """The number of points of the grid over ``space`` (without making them)."""
    return math.prod(dim.count() for dim in space.values())


def grid(space: dict[str, Dimension]) -> list[dict[str, Any]]:
    """Every combination, in a fixed order."""
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(space[n].values() for n in names))]


def random_points(space: dict[str, Dimension], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` points drawn independently (seeded)."""
    rng = np.random.default_rng(seed)
    return [{name: dim.sample(rng) for name, dim in space.items()} for _ in range(n)]
