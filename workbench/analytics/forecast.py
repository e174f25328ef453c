"""Forecasts with prediction intervals, and their accuracy measured against a naive one.

Models (statsmodels and arch, not hand-rolled): ARIMA(1,1,1), damped additive-trend ETS,
the Theta method (on the last 500 points), GARCH(1,1) volatility; and the naive random walk (the last value,
intervals from the spread of past changes) as the baseline every model must beat.

Prices are modelled as log prices; forecasts are turned back into prices by ``exp``, so
the point forecast is the median of the implied log-normal and the interval bounds map
exactly. statsmodels cannot forecast on a trading-day index that has no frequency, so
models are fitted on a plain range index and the forecast steps are mapped afterwards
onto the next business days (Monday to Friday; exchange holidays are not left out).

:func:`evaluate` measures accuracy honestly: a rolling origin runs through the last part
of the series; at each origin the model, with parameters estimated once on the data
before the first origin, forecasts ``horizon`` steps from the data up to that origin only,
and the errors against what happened are pooled. The naive forecast is scored on exactly
the same windows. MAE and RMSE are in price units; coverage is the share of actual prices
inside the intervals (a 95 % interval should cover about 95 %).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

Model = Literal["arima", "ets", "theta", "naive"]
MODELS: tuple[str, ...] = ("arima", "ets", "theta", "naive")
THETA_WINDOW = 500  # points the Theta method is fitted to (about two years of days)


@dataclass(frozen=True)
class Forecast:
    """Point forecasts and prediction-interval bounds (price units) on future business days."""

    model: str
    level: float
    frame: pd.DataFrame  # columns: mean, lower, upper; index: future times

    @property
    def mean(self) -> pd.Series:
        return self.frame["mean"]


def _prices(series: pd.Series) -> pd.Series:
    s = pd.Series(series, dtype=float).dropna()
    if len(s) < 30:
        raise ValueError(f"forecasting needs at least 30 points, got {len(s)}")
    if (s <= 0).any():
        raise ValueError("forecasting works on prices, which must be > 0")
    return s


def future_index(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` business days after ``last`` (weekdays; holidays not excluded)."""
    start = pd.Timestamp(last) + pd.offsets.BDay(1)
    return pd.bdate_range(start.normalize(), periods=horizon, tz=start.tz or "UTC")


def _fit(model: Model, y: np.ndarray):
    """A fitted statsmodels results object for log prices ``y`` (range index)."""
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.theta import ThetaModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the accuracy is measured below
        endog = pd.Series(y)
        if model == "arima":
            return ARIMA(endog, order=(1, 1, 1)).fit()
        if model == "ets":
            return ETSModel(endog, error="add", trend="add", damped_trend=True).fit(disp=False)
        if model == "theta":
            return ThetaModel(endog, period=1, deseasonalize=False).fit()
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


def _predict(model: Model, fitted, y: np.ndarray, horizon: int, level: float,
             warm: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """(horizon, 3) array of mean, lower, upper log prices from the end of ``y``; with
    ``fitted`` parameters (re-applied to ``y`` without re-estimation where possible).
    ``warm``: estimates kept from the previous origin of a rolling evaluation, each fit's
    starting point (the estimates are still made at every origin)."""
    alpha = 1 - level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "naive":
            steps = np.diff(y)
            sd = float(np.std(steps, ddof=1))
            z = stats.norm.ppf(1 - alpha / 2)
            h = np.arange(1, horizon + 1)
            return np.column_stack([np.full(horizon, y[-1]), y[-1] - z * sd * np.sqrt(h), y[-1] + z * sd * np.sqrt(h)])
        if model == "arima":
            res = fitted.apply(pd.Series(y)) if fitted is not None else _fit(model, y)
            f = res.get_forecast(horizon)
            ci = np.asarray(f.conf_int(alpha=alpha))
            return np.column_stack([np.asarray(f.predicted_mean), ci[:, 0], ci[:, 1]])
        if model == "ets":
            res = _fit(model, y)  # ETS fits in milliseconds: re-estimate at each origin
            sf = res.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=alpha)
            return sf[["mean", "pi_lower", "pi_upper"]].to_numpy()
        if model == "theta":
            # Its prediction intervals come from an ARIMA(0,1,1) fit, slow on long series:
            # the method is local anyway, so it sees the last THETA_WINDOW points.
            window = y[-THETA_WINDOW:]
            res = _fit(model, window)
            mean = np.asarray(res.forecast(horizon))
            # statsmodels' ThetaModelResults.prediction_intervals, with its residual variance
            # (an ARIMA(0,1,1) with drift fitted by maximum likelihood, 90 % of the time here)
            # started from the previous origin's estimates: the same optimum, found in a
            # few steps instead of from scratch
            a = float(np.asarray(res.params)[1])
            sd = np.sqrt((1 + np.arange(horizon) * (1 + (a - 1) ** 2)) * _theta_sigma2(window, warm))
            z = stats.norm.ppf(alpha / 2)
            return np.column_stack([mean, mean + z * sd, mean - z * sd])
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


THETA_SCALE = 100.0  # log prices are fitted x 100 (so in percent): see _theta_sigma2


def _theta_sigma2(y: np.ndarray, warm: dict[str, np.ndarray] | None) -> float:
    """The Theta method's residual variance as statsmodels estimates it
    (``ThetaModelResults.sigma2``: SARIMAX(0,1,1) with a constant, its last parameter),
    the fit started from ``warm["theta"]`` when given, which is updated.

    The model is fitted to ``THETA_SCALE * y``, and the variance scaled back: the same
    estimator (the maximum likelihood), but log prices' variance (about 1e-4) beside a
    moving average near 0.1 leaves the optimizer a badly scaled problem. On 500 days of
    sp500 and nasdaq it stopped after 70-120 likelihood evaluations short of the optimum;
    scaled it takes 25-35 and finds a higher likelihood (tests/analytics/test_models.py).
    On ordinary series the two variances agree within 0.2 %. Where the likelihood is flat,
    with the moving average at the edge of its range (prices quantized to a few ticks,
    nearly constant ones), the two optimizers stop at different points: 10-20 % apart on a
    quantized series, ours at the higher likelihood; on a constant series both are the
    optimizer's floor, not an estimate."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = None if warm is None else warm.get("theta")
        res = SARIMAX(y * THETA_SCALE, order=(0, 1, 1), trend="c").fit(disp=False, start_params=start,
                                                                        cov_type="none")
    params = np.asarray(res.params)
    if warm is not None:
        warm["theta"] = params
    return float(params[-1]) / THETA_SCALE**2


def forecast(prices: pd.Series, horizon: int = 10, model: Model = "arima", level: float = 0.95) -> Forecast:
    """Forecast ``horizon`` business days of prices with a prediction interval at ``level``."""
    if not (isinstance(horizon, int) and horizon >= 1):
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    s = _prices(prices)
    y = np.log(s.to_numpy())
    fitted = None if model in ("naive", "ets", "theta") else _fit(model, y)
    out = np.exp(_predict(model, fitted, y, horizon, level))
    index = future_index(s.index[-1], horizon) if isinstance(s.index, pd.DatetimeIndex) else pd.RangeIndex(len(s), len(s) + horizon)
    return Forecast(model, level, pd.DataFrame(out, columns=["mean", "lower", "upper"], index=index))


def default_origins(points: int, horizon: int) -> int:
    """How many rolling origins to score by default: 20, fewer when the series is short
    (each origin needs ``horizon`` points after 60 to fit on), at least 2."""
    return min(20, max(2, (points - 60) // horizon))


def evaluate(prices: pd.Series, model: Model = "arima", horizon: int = 5, origins: int | None = None,
             level: float = 0.95) -> dict[str, float]:
    """Rolling-origin accuracy of ``model`` and of the naive forecast on the same windows
    (module docstring). Returns MAE, RMSE and coverage of each, the skill
    ``1 - MAE_model / MAE_naive`` (> 0: better than naive) and the counts. ``origins``
    (default: :func:`default_origins`) forecasts are scored."""
    s = _prices(prices)
    origins = default_origins(len(s), horizon) if origins is None else origins
    y = np.log(s.to_numpy())
    n = len(y)
    first = n - horizon - (origins - 1) * horizon
    if first < 30:
        raise ValueError(f"not enough data for {origins} origins of {horizon} steps ({n} points)")
    fitted = _fit(model, y[:first]) if model == "arima" else None
    errors: dict[str, list[float]] = {model: [], "naive": []}
    warm: dict[str, np.ndarray] = {}  # each origin's estimates start the next origin's fit
    covered: dict[str, list[bool]] = {model: [], "naive": []}
    for k in range(origins):
        origin = first + k * horizon
        history = y[:origin]
        actual = np.exp(y[origin : origin + horizon])
        for name in (model, "naive"):
            pred = np.exp(_predict(name, fitted if name == model else None, history, horizon, level, warm))
            errors[name].extend((pred[:, 0] - actual).tolist())
            covered[name].extend(((actual >= pred[:, 1]) & (actual <= pred[:, 2])).tolist())
    out: dict[str, float] = {"model": model, "horizon": horizon, "origins": origins, "level": level,
                             "points": len(errors[model])}
    for name, key in ((model, "model"), ("naive", "naive")):
        e = np.asarray(errors[name])
        out[f"{key}_mae"] = float(np.mean(np.abs(e)))
        out[f"{key}_rmse"] = float(math.sqrt(np.mean(e * e)))
        out[f"{key}_coverage"] = float(np.mean(covered[name]))
    out["skill_vs_naive"] = 1.0 - out["model_mae"] / out["naive_mae"] if out["naive_mae"] > 0 else math.nan
    return out


def volatility_forecast(returns: pd.Series, horizon: int = 10, periods_per_year: int = 252) -> pd.DataFrame:
    """GARCH(1,1) (constant mean, normal errors; arch) forecast of annualized volatility for
    the next ``horizon`` business days. Returns are scaled by 100 for the fit, as arch
    recommends, and back."""
    from arch import arch_model

    r = pd.Series(returns, dtype=float).dropna()
    if len(r) < 100:
        raise ValueError(f"a GARCH fit needs at least 100 returns, got {len(r)}")
    res = arch_model(r.to_numpy() * 100, vol="GARCH", p=1, q=1, mean="Constant", dist="normal").fit(disp="off")
    variance = np.asarray(res.forecast(horizon=horizon, reindex=False).variance)[-1]
    vol = np.sqrt(variance) / 100 * math.sqrt(periods_per_year)
    index = future_index(r.index[-1], horizon) if isinstance(r.index, pd.DatetimeIndex) else pd.RangeIndex(len(r), len(r) + horizon)
    return pd.DataFrame({"annual_volatility": vol}, index=index)
