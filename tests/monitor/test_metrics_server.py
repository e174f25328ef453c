"""/metrics holds a crowd: 200 clients at once, every request answered."""

import threading
import urllib.request

from prometheus_client import CollectorRegistry, Counter

from workbench.monitor.export import BACKLOG, serve_registry


def scrape_all(port: int, clients: int, each: int) -> tuple[list[int], list[str]]:
    """``clients`` threads, released together, each scraping ``each`` times: statuses and errors."""
    statuses, errors, lock = [], [], threading.Lock()
    start = threading.Barrier(clients)

    def client():
        start.wait()
        for _ in range(each):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                    ok = b"workbench_test_total" in r.read()
                    with lock:
                        statuses.append(r.status if ok else -1)
            except OSError as exc:
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, errors


def test_two_hundred_clients_at_once_are_all_answered():
    registry = CollectorRegistry()
    Counter("workbench_test", "a counter", registry=registry).inc()
    server, _ = serve_registry(registry, "127.0.0.1", 0)
    try:
        assert server.server_address[1] > 0 and BACKLOG >= 200
        statuses, errors = scrape_all(server.server_address[1], clients=200, each=3)
    finally:
        server.shutdown()
    assert errors == [] and statuses == [200] * 600


def test_other_paths_and_methods_are_404_and_a_silent_client_is_let_go():
    import socket

    registry = CollectorRegistry()
    server, _ = serve_registry(registry, "127.0.0.1", 0)
    port = server.server_address[1]
    try:
        for request in (b"GET /nope HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(request)
                assert s.recv(100).startswith(b"HTTP/1.1 404")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metr")  # never finished: the server keeps serving others
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                assert r.status == 200
    finally:
        server.shutdown()
