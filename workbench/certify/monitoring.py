"""4. Monitoring and analytics integration: metrics of a live session reach the store, an
injected feed stall fires and resolves its alert on time (on the data clock), and the
analytics of real returns agree with the textbook formulas."""

from __future__ import annotations

import numpy as np

from workbench.certify import reference, scenarios
from workbench.certify.context import Context
from workbench.certify.report import Check, all_near, same, within

STATISTICS = ("sharpe", "annual_volatility", "total_return", "cagr", "sortino", "max_drawdown", "calmar")
RISK_FREE = 1e-4  # a day
SESSION_PERIODS_PER_YEAR = 252 * 6.5 * 3600  # per-second returns of a 6.5-hour session


def _feed_stall(ctx: Context):
    s = ctx.once(scenarios.stalled_session)
    instances = list(s.monitor.alerts.instances.values())
    return s, (instances[0] if len(instances) == 1 else None)


def feed_stall_alert_fires_on_time(ctx: Context) -> Check:
    """A three-minute gap in a paper session's quotes: FeedStalled (age > threshold for
    ``for``) fires between ``for`` and ``for`` + one evaluation interval after the feed's age
    crosses the threshold, in data seconds."""
    s, inst = _feed_stall(ctx)
    rule = s.rule
    ctx.record("monitoring.feed_stall_transitions", s.transitions())
    crossing = s.last_before + rule.threshold
    fired = None if inst is None or inst.fired_at is None else inst.fired_at - crossing
    aligned = abs(rule.for_ / s.interval - round(rule.for_ / s.interval)) < 1e-9
    check = within(fired if aligned else None, lo=rule.for_, hi=rule.for_ + s.interval, unit="data s",
                   what=f"{rule.name} (age > {rule.threshold:g} s for {rule.for_:g} s, evaluated every "
                        f"{s.interval:g} s) fired after the last quote at +{s.last_before - s.t0:g} s; "
                        f"delay from the crossing at +{crossing - s.t0:g} s",
                   figures={"transitions": s.transitions()})
    if not aligned:
        check.detail += f"; the rule's for ({rule.for_:g} s) is not a whole number of intervals"
    return check


def alert_resolves_when_data_returns(ctx: Context) -> Check:
    """The stall alert resolves within one evaluation interval (plus ``keep_firing_for``)
    of the first quote after the gap, in data seconds."""
    s, inst = _feed_stall(ctx)
    delay = None if inst is None or inst.resolved_at is None else inst.resolved_at - s.resume
    return within(delay, lo=0.0, hi=s.interval + s.rule.keep_firing_for, unit="data s",
                  what=f"resolved after the feed resumed at +{s.resume - s.t0:g} s "
                       f"(state {inst.state if inst else 'none'})")


def metrics_reach_the_store(ctx: Context) -> Check:
    """The session's fill counter in the SQLite store: one sample per evaluation interval of
    the session (data seconds), never decreasing, the last equal to the session's fills; and
    the drawdown gauge a monitored backtest stores, against its stored equity's running peak."""
    from workbench.monitor import MetricStore

    s = ctx.once(scenarios.stalled_session)
    stored = MetricStore(s.monitor.store.path).series("workbench_broker_fills_total")
    fills = len(s.result.fills)
    span = s.quotes.index[-1].timestamp() - s.t0
    expected = span / s.interval
    values = stored["value"].to_numpy()
    watched, _ = ctx.once(scenarios.monitored_backtest)
    store = MetricStore(watched.store.path)
    equity = store.series("workbench_session_equity")["value"].to_numpy()
    drawdown = store.series("workbench_session_drawdown")["value"].to_numpy()
    ctx.record("monitoring.session_fills", fills, samples=len(stored))
    measured = [bool(np.all(np.diff(values) >= 0)), float(values[-1]) if len(values) else None,
                abs(len(values) - expected) <= 2,
                len(equity) == len(drawdown) and bool(np.allclose(drawdown, equity / np.maximum.accumulate(equity) - 1,
                                                                   rtol=0, atol=1e-12))]
    check = same(measured, [True, float(fills), True, True],
                 what=f"[fill counter never decreases, its last stored value, {len(values)} samples within 2 of "
                      f"{expected:g} (one per {s.interval:g} s over {span:g} data s), each of the "
                      f"{len(drawdown):,} drawdowns "
                      f"stored by a monitored S&P 500 backtest = equity / its running peak - 1]")
    check.measured, check.expected, check.unit = len(values), expected, "samples"
    return check


def statistics_match_the_textbook(ctx: Context) -> Check:
    """analytics.summary of the S&P 500's daily returns and of the paper session's
    per-second equity returns, against the textbook formulas."""
    from workbench.analytics import performance, summary
    from workbench.feed import load_dataset

    s = ctx.once(scenarios.stalled_session)
    series = {
        "sp500 daily": (performance.simple_returns(load_dataset("sp500")["close"]), 252),
        "paper session per second": (performance.simple_returns(s.result.equity).dropna(), SESSION_PERIODS_PER_YEAR),
    }
    items, recorded = [], {}
    for label, (returns, per_year) in series.items():
        ours = summary(returns, periods_per_year=per_year)
        theirs = reference.textbook_statistics(returns.to_numpy(), per_year)
        items += [(f"{label} {k}", ours[k], theirs[k]) for k in STATISTICS]
        recorded[label] = {k: ours[k] for k in STATISTICS}
    returns = series["sp500 daily"][0]
    ours = summary(returns, periods_per_year=252, risk_free=RISK_FREE)
    theirs = reference.textbook_statistics(returns.to_numpy() - RISK_FREE, 252)  # excess returns
    items += [(f"sp500 daily, risk-free 1 bp a day, {k}", ours[k], theirs[k]) for k in ("sharpe", "sortino")]
    ctx.record("monitoring.statistics", recorded, sp500_sharpe=recorded["sp500 daily"]["sharpe"])
    return all_near(items, rel=1e-9, what="Sharpe, volatility, total return, CAGR, Sortino, max drawdown and Calmar "
                                          "of two return series, and Sharpe and Sortino over a risk-free rate")


def rule_aggregations_mean_what_they_say(ctx: Context) -> Check:
    """What an alert rule compares with its threshold: each aggregation of a minute of
    samples (a counter for ``rate``) against its definition; percentiles interpolate
    linearly between the closest ranks."""
    from workbench.monitor import rules

    rng = np.random.default_rng(ctx.seed)
    values = rng.normal(10.0, 3.0, 60).tolist()
    times = [1_700_000_000.0 + i for i in range(60)]
    counter = np.cumsum(rng.integers(0, 5, 60)).astype(float).tolist()
    ordered = sorted(values)

    def percentile(q: float) -> float:
        rank = q / 100 * (len(ordered) - 1)
        lo = int(rank)
        return ordered[lo] + (rank - lo) * (ordered[min(lo + 1, len(ordered) - 1)] - ordered[lo])

    window = list(zip(times, values))
    expected = {"avg": sum(values) / len(values), "min": ordered[0], "max": ordered[-1], "last": values[-1],
                **{f"p{q}": percentile(q) for q in (50, 90, 95, 99)}}
    items = [(name, rules.aggregate(name, window), want) for name, want in expected.items()]
    items.append(("rate", rules.aggregate("rate", list(zip(times, counter))),
                  (counter[-1] - counter[0]) / (times[-1] - times[0])))
    return all_near(items, rel=1e-12, what="nine aggregations of 60 one-second samples")


CHECKS = [feed_stall_alert_fires_on_time, alert_resolves_when_data_returns, metrics_reach_the_store,
          rule_aggregations_mean_what_they_say, statistics_match_the_textbook]
