"""Alert instances and their states, evaluated the Prometheus way, and notifications.

See :mod:`workbench.monitor.rules` for the semantics. Notifications go out once per alert
instance and state change (firing, resolved): a log line, an in-memory list a dashboard
shows, and optionally a JSON POST to a webhook.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.monitor.rules import Rule
from workbench.monitor.store import label_key

log = logging.getLogger("workbench.monitor")


@dataclass
class AlertInstance:
    """One rule for one label set. Times are unix seconds."""

    rule: Rule
    labels: dict[str, str]
    state: str = "inactive"  # inactive, pending, firing, resolved
    value: float = float("nan")
    active_since: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    last_true: float | None = None
    clear_since: float | None = None  # first evaluation the condition failed while firing
    serial: int = 0  # increments each time the instance goes pending again

    @property
    def id(self) -> str:
        return f"{self.rule.name}{label_key(self.labels)}#{self.serial}"

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id, "rule": self.rule.name, "labels": {**self.rule.labels, **self.labels},
            "state": self.state, "severity": self.rule.severity, "value": self.value,
            "active_since": self.active_since, "fired_at": self.fired_at, "resolved_at": self.resolved_at,
            "updated": now, "annotations": self.rule.annotate(self.value, self.labels),
        }


class Notifier(Protocol):
    def notify(self, alert: dict[str, Any]) -> None: ...


class LogNotifier:
    """Writes a line per notification to the ``workbench.monitor`` logger."""

    def notify(self, alert: dict[str, Any]) -> None:
        level = logging.WARNING if alert["state"] == "firing" else logging.INFO
        log.log(level, "%s %s %s: %s", alert["state"].upper(), alert["severity"], alert["rule"],
                alert["annotations"].get("summary", ""))


class ListNotifier:
    """Keeps the last ``size`` notifications for a dashboard to show."""

    def __init__(self, size: int = 200) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=size)

    def notify(self, alert: dict[str, Any]) -> None:
        self.items.append(alert)


class WebhookNotifier:
    """POSTs each notification as JSON to ``url``; failures are logged, never raised."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be http(s)://..., got {url!r}")
        self.url = url
        self.timeout = timeout
        self.errors = 0

    def notify(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, default=str).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except OSError as exc:
            self.errors += 1
            log.error("webhook %s failed: %s", self.url, exc)


@dataclass
class AlertManager:
    """Evaluates rules against windows of samples and keeps the instances' states."""

    rules: list[Rule]
    notifiers: list[Notifier] = field(default_factory=list)
    instances: dict[tuple[str, str], AlertInstance] = field(default_factory=dict)
    notified: set[tuple[str, str]] = field(default_factory=set)  # (instance id, state) sent

    def evaluate(self, now: float, values: dict[str, dict[str, tuple[dict[str, str], float]]],
                 notify: bool = True) -> list[dict]:
        """One evaluation. ``values[rule name][label key] = (labels, aggregated value)`` for
        every label set that has data. Returns the instances whose state changed (dicts);
        ``notify=False`` leaves the notifications to :meth:`notify` (after they are stored)."""
        changed = []
        for rule in self.rules:
            seen = values.get(rule.name, {})
            keys = set(seen) | {k for (name, k) in self.instances if name == rule.name}
            for key in sorted(keys):
                labels, value = seen.get(key, (None, float("nan")))
                inst = self.instances.get((rule.name, key))
                if inst is None:
                    inst = self.instances[(rule.name, key)] = AlertInstance(rule, labels or {})
                if self._step(inst, rule.holds(value), value, now):
                    changed.append(inst.to_dict(now))
        if notify:
            self.notify(changed)
        return changed

    def notify(self, changed: list[dict]) -> None:
        """Send the notifications of changed instances (once per instance and state)."""
        for alert in changed:
            self._notify(alert)

    def _step(self, a: AlertInstance, holds: bool, value: float, now: float) -> bool:
        """Advance one instance; True if its state changed."""
        before = a.state
        if holds:
            a.value = value
            a.last_true = now
            a.clear_since = None
            if a.state in ("inactive", "resolved"):
                if a.state == "resolved":
                    a.serial += 1
                a.state, a.active_since, a.fired_at, a.resolved_at = "pending", now, None, None
            if a.state == "pending" and now - a.active_since >= a.rule.for_:
                a.state, a.fired_at = "firing", now
        else:
            if a.state == "pending":  # missed an evaluation: back to nothing
                a.state, a.active_since = "inactive", None
            elif a.state == "firing":
                if a.clear_since is None:
                    a.clear_since = now
                # As Prometheus: keep firing for keep_firing_for from the first clear evaluation.
                if now - a.clear_since >= a.rule.keep_firing_for:
                    # Resolved: the value stays the one it fired with (what its summary speaks of).
                    a.state, a.resolved_at, a.clear_since = "resolved", now, None
        return a.state != before

    def _notify(self, alert: dict) -> None:
        if alert["state"] not in ("firing", "resolved"):
            return
        key = (alert["id"], alert["state"])
        if key in self.notified:  # deduplicated per instance and state
            return
        self.notified.add(key)
        for n in self.notifiers:
            n.notify(alert)

    def end_session(self, now: float) -> list[dict]:
        """The session ended: pending instances lapse, firing ones resolve (annotated
        ``note: session ended``). Returns the changed instances, to store, then
        :meth:`notify`."""
        changed = []
        for a in self.instances.values():
            if a.state == "pending":
                a.state, a.active_since = "inactive", None
                changed.append(a.to_dict(now))
            elif a.state == "firing":
                a.state, a.resolved_at, a.clear_since = "resolved", now, None
                alert = a.to_dict(now)
                alert["annotations"] = {**alert["annotations"], "note": "session ended"}
                changed.append(alert)
        return changed

    def firing(self) -> list[AlertInstance]:
        return [a for a in self.instances.values() if a.state == "firing"]
