"""Walk-forward optimization: re-optimize in-sample, trade the choice out-of-sample, stitch.

The bars are cut into ``folds + 1`` consecutive blocks of equal length. Fold ``k`` is
optimized on block ``k`` (``rolling``) or on blocks ``0..k`` (``anchored``) and its best
parameters then trade block ``k + 1``, out of sample: the backtest runs from the start of
the in-sample data to the end of the out-of-sample block (so indicators are warm and the
position carries over, as it would live), and only the out-of-sample days' returns count.
Stitched together they make an out-of-sample equity curve no parameter ever saw in
advance. Degradation compares each fold's in-sample objective with its out-of-sample one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from workbench.analytics import performance as perf
from workbench.errors import ConfigError
from workbench.optimize.runner import sweep


@dataclass
class WalkForward:
    """Per-fold choices and figures, and the stitched out-of-sample returns."""

    folds: pd.DataFrame
    oos_returns: pd.Series
    objective: str

    @property
    def oos_equity(self) -> pd.Series:
        return (1 + self.oos_returns).cumprod()

    def summary(self) -> dict[str, Any]:
        s = perf.summary(self.oos_returns)
        is_mean = float(self.folds["is_objective"].mean())
        oos_mean = float(self.folds["oos_objective"].mean())
        return {
            "folds": len(self.folds),
            "objective": self.objective,
            "is_mean": is_mean,
            "oos_mean": oos_mean,
            "degradation": is_mean - oos_mean,
            "oos_sharpe": s["sharpe"],
            "oos_cagr": s["cagr"],
            "oos_max_drawdown": s["max_drawdown"],
            "oos_days": s["periods"],
        }


@dataclass(frozen=True)
class Fold:
    """Row positions of one fold: in-sample ``[is_start, is_end)``, out-of-sample
    ``[is_end, oos_end)``."""

    number: int
    is_start: int
    is_end: int
    oos_end: int


def folds_of(n: int, folds: int, mode: Literal["rolling", "anchored"] = "rolling") -> list[Fold]:
    """The folds of ``n`` bars cut into ``folds + 1`` blocks (module docstring); the last
    out-of-sample block takes the rows left over."""
    size = n // (folds + 1)
    return [Fold(k + 1, 0 if mode == "anchored" else k * size, (k + 1) * size, (k + 2) * size if k < folds - 1 else n)
            for k in range(folds)]


def in_sample(bars: pd.DataFrame, fold: Fold) -> pd.DataFrame:
    """The bars a fold's parameters are chosen on: never a row of its out-of-sample block."""
    return bars.iloc[fold.is_start:fold.is_end]


def walk_forward(strategy: str, bars: pd.DataFrame, points: list[dict[str, Any]], *, folds: int = 4,
                 mode: Literal["rolling", "anchored"] = "rolling", objective: str = "sharpe",
                 options: dict[str, Any] | None = None, **sweep_options: Any) -> WalkForward:
    """Walk-forward over one symbol's ``bars`` (module docstring)."""
    from workbench.engine import backtest
    from workbench.strategies import strategy_class

    if folds < 1:
        raise ConfigError(f"walk-forward needs folds >= 1, got {folds}")
    if mode not in ("rolling", "anchored"):
        raise ConfigError(f"walk-forward mode must be rolling or anchored, got {mode!r}")
    n = len(bars)
    if n // (folds + 1) < 50:
        raise ConfigError(f"{n} bars are too few for {folds} folds (under 50 bars a block)")
    rows, pieces = [], []
    for fold in folds_of(n, folds, mode):
        result = sweep(strategy, [in_sample(bars, fold)], points, objective=objective, options=options,
                       **sweep_options)
        best = result.best
        if best is None:
            raise ConfigError(f"fold {fold.number}: no feasible parameters in-sample")
        run = backtest(strategy_class(strategy)(**best["params"]), bars.iloc[fold.is_start:fold.oos_end],
                       **(options or {}))
        returns = perf.run_returns(run.equity, run.starting_cash)
        oos = returns[returns.index >= bars.index[fold.is_end].normalize()]
        oos_value = objective_value(oos, objective)
        rows.append({"fold": fold.number, "is_start": bars.index[fold.is_start], "is_end": bars.index[fold.is_end - 1],
                     "oos_start": bars.index[fold.is_end], "oos_end": bars.index[fold.oos_end - 1],
                     **{f"best_{p}": v for p, v in best["params"].items()},
                     "is_objective": best["objective"], "oos_objective": oos_value})
        pieces.append(oos)
    return WalkForward(pd.DataFrame(rows), pd.concat(pieces).rename("oos_return"), objective)


def objective_value(returns: pd.Series, objective: str) -> float:
    """The statistic ``objective`` of daily ``returns`` (what a fold is ranked by out of
    sample; ``final_equity`` ranks as the total return)."""
    if objective == "final_equity" or objective == "total_return":
        return perf.total_return(returns)
    fn = {"sharpe": perf.sharpe, "sortino": perf.sortino, "cagr": perf.cagr, "calmar": perf.calmar,
          "max_drawdown": perf.max_drawdown}[objective]
    return float(fn(returns))
