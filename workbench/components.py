"""Every major component, one instance each, and all their self-tests in one call
(``workbench selftest``, the dashboards' status)."""

from __future__ import annotations

from workbench.component import CheckResult


def components() -> list:
    """A fresh feed, broker, engine, analytics, monitor and optimizer."""
    from workbench.analytics import Analytics
    from workbench.broker import SimulatedBroker
    from workbench.engine import Engine
    from workbench.feed import Feed, synthetic_bars
    from workbench.monitor import Monitor
    from workbench.optimize import Optimizer
    from workbench.strategies import SmaCross

    return [Feed(), SimulatedBroker(), Engine(SmaCross(), synthetic_bars(1, days=40, seed=0)), Analytics(),
            Monitor(log=False), Optimizer()]


def self_test_all() -> list[CheckResult]:
    """Every component's ``self_test()`` results, in the order of :func:`components`."""
    return [r for component in components() for r in component.self_test()]
