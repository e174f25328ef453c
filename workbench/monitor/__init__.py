"""Monitoring: measured metrics (prometheus-client), an SQLite store, alert rules with
Prometheus semantics, notifications, and ``/metrics`` over HTTP."""

from workbench.monitor.alerts import AlertManager, ListNotifier, LogNotifier, WebhookNotifier
from workbench.monitor.monitor import Monitor
from workbench.monitor.rules import DEFAULT_RULES, Rule, load_rules
from workbench.monitor.store import MetricStore

__all__ = ["AlertManager", "DEFAULT_RULES", "ListNotifier", "LogNotifier", "MetricStore", "Monitor", "Rule",
           "WebhookNotifier", "load_rules"]
