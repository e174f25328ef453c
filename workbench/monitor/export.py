"""``/metrics`` over HTTP: a monitor's live registry, or a store's latest values for a
process that only reads it.

:func:`serve_registry` answers ``GET /metrics`` with prometheus-client's exposition
(``generate_latest``), rendered at most every :data:`MAX_AGE_S` seconds and shared by the
requests in between, from an asyncio server in a thread of its own with a listen backlog
of :data:`BACKLOG` connections. Written here because the servers at hand fall short of a
crowd of scrapers: prometheus-client's own is thread-per-request with Python's default
backlog of 5 (200 clients at once: a third refused, p99 over 15 s, measured by
``benchmarks/bench_monitor.py``), and tornado with the same cache measured p99 70-120 ms
against 30-40 ms for this one. Only the request line is parsed: any other method or path
is a 404.
"""

from __future__ import annotations

import asyncio
import threading
import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workbench.monitor.store import MetricStore

BACKLOG = 1024  # connections the kernel queues before they are accepted
MAX_AGE_S = 0.25  # how old a rendered /metrics may be when it is served again


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


class MetricsServer:
    """``/metrics`` of a registry on an address (module docstring); ``shutdown()`` stops it."""

    def __init__(self, registry, address: str = "127.0.0.1", port: int = 9464) -> None:
        self.registry = registry
        self._body, self._rendered = b"", -1.0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._answer, address, port, backlog=BACKLOG))
        self.server_address = self._server.sockets[0].getsockname()[:2]
        self.server_port = self.server_address[1]
        self.thread = threading.Thread(target=self._loop.run_forever, name="workbench-metrics", daemon=True)
        self.thread.start()

    def body(self) -> bytes:
        """The exposition text, rendered again when older than :data:`MAX_AGE_S`."""
        with self._lock:
            now = time.monotonic()
            if now - self._rendered > MAX_AGE_S:
                self._body, self._rendered = generate_latest(self.registry), now
            return self._body

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            method, _, rest = head.partition(b" ")
            path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if method == b"GET" and path in (b"/metrics", b"/"):
                data = self.body()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + CONTENT_TYPE_LATEST.encode()
                             + b"\r\nContent-Length: " + str(len(data)).encode() + b"\r\nConnection: close\r\n\r\n"
                             + data)
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass  # a client that sent no full request, or left: nothing to answer
        finally:
            writer.close()

    def shutdown(self) -> None:
        """Stop serving and close the listening socket."""
        if self._loop.is_closed():
            return

        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.thread.join(timeout=10)
        self._loop.close()

    server_close = shutdown  # the name socketserver's servers use


def serve_registry(registry, address: str = "127.0.0.1", port: int = 9464):
    """Serve ``registry`` as ``/metrics`` (module docstring); returns the server and its thread."""
    server = MetricsServer(registry, address, port)
    return server, server.thread


def serve_store(store: MetricStore, address: str = "127.0.0.1", port: int = 9464):
    """Serve ``store``'s latest values as ``/metrics`` (loopback by default); returns the
    server and its thread."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    return serve_registry(registry, address, port)
