"""Serving a store's latest values as Prometheus metrics, for a process that only reads it."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workbench.monitor.store import MetricStore


class StoreCollector(Collector):
    """Exposes the newest sample of every series in a :class:`MetricStore` as a gauge
    (counters keep their ``_total`` names), so ``workbench monitor serve`` can export what
    paper sessions in other processes wrote."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def collect(self):
        latest = self.store.latest()
        families: dict[str, tuple[list[str], GaugeMetricFamily]] = {}  # name -> (label names, family)
        for row in latest.itertuples():
            labels = dict(row.labels)
            if row.name not in families:
                families[row.name] = (sorted(labels), GaugeMetricFamily(
                    row.name, f"latest stored sample of {row.name}", labels=sorted(labels)))
            names, family = families[row.name]
            if sorted(labels) == names:  # a series with other label names cannot join this family
                family.add_metric([labels[k] for k in names], row.value, timestamp=row.time.timestamp())
        yield from (family for _, family in families.values())


def serve_store(store: MetricStore, address: str = "127.0.0.1", port: int = 9464):
    """Serve ``store``'s latest values as ``/metrics`` (loopback by default); returns the
    server and its thread, as ``prometheus_client.start_http_server`` does."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    return start_http_server(port, addr=address, registry=registry)
