"""``/metrics`` over HTTP: a monitor's live registry, or a store's latest values for a
process that only reads it.

:func:`serve_registry` is prometheus-client's WSGI app on a threaded server with a listen
backlog of :data:`BACKLOG` connections (prometheus-client's own server keeps Python's
default of 5, so a burst of scrapers is refused at the door): every request gets its own
thread, so one slow client holds up nobody.
"""

from __future__ import annotations

import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

BACKLOG = 1024  # connections the kernel queues before accept()

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


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = BACKLOG


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # no line on stderr per scrape
        pass


def serve_registry(registry, address: str = "127.0.0.1", port: int = 9464):
    """Serve ``registry`` as ``/metrics`` on ``address:port`` in a daemon thread (module
    docstring); returns the server (``shutdown()`` stops it) and its thread."""
    httpd = make_server(address, port, make_wsgi_app(registry), server_class=_ThreadingServer,
                        handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="workbench-metrics", daemon=True)
    thread.start()
    return httpd, thread


def serve_store(store: MetricStore, address: str = "127.0.0.1", port: int = 9464):
    """Serve ``store``'s latest values as ``/metrics`` (loopback by default); returns the
    server and its thread."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    return serve_registry(registry, address, port)
