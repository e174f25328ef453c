"""A running paper session's command channel: orders, cancels and the kill switch sent from
outside its process (the dashboard's trading page, a script, ``curl``).

``workbench paper`` opens it on 127.0.0.1, on a port the system picks, and writes
``<run>/control.json`` (mode 0600: ``url``, ``token``, ``pid``), removed when the session
ends. Every request carries ``Authorization: Bearer <token>``; ``X-Workbench-By`` names the
sender (at most 64 printable characters, ``api`` when absent) and is journaled with what it
did: an order's ``client_id``, a cancel's ``by``, the kill switch's reason.

=====  ===========  ================================================================
GET    ``/state``   market time, last prices, journal sequence, kill switch, symbols
POST   ``/orders``  ``{"symbol", "side", "quantity", "type", "limit_price", "stop_price", "tif"}``
POST   ``/cancel``  ``{"order_id"}``
POST   ``/kill``    ``{"on": true}`` (cancel every working order, refuse new ones) or ``false``
=====  ===========  ================================================================

A command is queued and executed by the engine's own thread between two time slices (at once
during a paced wait: ``on_queue`` wakes it), as one atomic journal step: a resumed session equals one that never
stopped, commands included. The reply is sent after that step is committed:
``{"accepted", "order_id", "seq", "reason", "message"}`` (an order the broker rejects is a
reply with ``accepted: false`` and the reason code). Errors, each with ``{"error": ...}``:
400 (a bad body, naming the field), 401 (no or a wrong token), 404, 405, 413 (a body over
4 KB), 503 (the session ended, or did not take the command within 10 s or before the
client's ``X-Workbench-Deadline``: nothing was done).

Example::

    TOKEN=$(.venv/bin/python -c 'import json; print(json.load(open("runs/p1/control.json"))["token"])')
    URL=$(.venv/bin/python -c 'import json; print(json.load(open("runs/p1/control.json"))["url"])')
    curl -s -H "Authorization: Bearer $TOKEN" -H "X-Workbench-By: ops:alice" \\
         -d '{"symbol": "SPX", "side": "buy", "quantity": 10}' $URL/orders

Written on :mod:`http.server` (the standard library's threaded server; nothing here needs
more), read with :class:`ControlClient`.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.paths import write_private

CONTROL_NAME = "control.json"
MAX_BODY = 4096
TAKE_TIMEOUT = 10.0  # seconds a command waits for the engine before it is withdrawn (503)
SENDER = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,63}$")
ORDER_FIELDS = {"symbol", "side", "quantity", "type", "limit_price", "stop_price", "tif"}


class ControlError(WorkbenchError):
    """A command that could not be sent or was not taken (the message says why)."""


class _Command:
    __slots__ = ("kind", "args", "by", "done", "reply")

    def __init__(self, kind: str, args: dict[str, Any], by: str) -> None:
        self.kind, self.args, self.by = kind, args, by
        self.done = threading.Event()
        self.reply: tuple[int, dict[str, Any]] | None = None

    def finish(self, status: int, body: dict[str, Any]) -> None:
        self.reply = (status, body)
        self.done.set()


class ControlChannel:
    """The server side (module docstring): opened by the session, drained by its engine."""

    def __init__(self, folder: str | os.PathLike, broker: Any = None, take_timeout: float = TAKE_TIMEOUT) -> None:
        """``broker``: the session's (the engine sets it when given the channel)."""
        self.folder = Path(folder)
        self.file = self.folder / CONTROL_NAME
        self.broker = broker
        self.take_timeout = take_timeout
        self.token = secrets.token_urlsafe(32)
        self.url = ""
        self.commands = 0  # commands executed
        self._queue: list[_Command] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._closed = False
        self._server: ThreadingHTTPServer | None = None
        self.on_queue: Callable[[], None] = lambda: None  # called when a command is queued (wakes the engine)

    def open(self) -> ControlChannel:
        """Listen on 127.0.0.1 and write ``control.json``."""
        if self.broker is None:
            raise RuntimeError("a command channel opens with its session's broker")
        server = _Server(("127.0.0.1", 0), _handler(self))
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, name="control", daemon=True).start()
        write_private(self.file, json.dumps({"url": self.url, "token": self.token, "pid": os.getpid()}) + "\n")
        return self

    # --- the engine's side --------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return self._ready.is_set()

    def execute(self, step: bool) -> int:
        """Run every queued command now (the engine's thread, between slices) as one journal
        step when ``step``; replies go out after the commit. Returns how many ran."""
        with self._lock:
            commands, self._queue = self._queue, []
            self._ready.clear()
        if not commands:
            return 0
        broker = self.broker
        if step:
            broker.begin_slice()
        try:
            replies = [self._run(c) for c in commands]
            if step:
                broker.end_slice()
        except BaseException as exc:
            if step:
                broker.abort_slice()
            for c in commands:
                c.finish(503, {"error": f"the session failed while running it ({type(exc).__name__}); nothing done"})
            raise
        for c, (status, body) in zip(commands, replies):
            c.finish(status, body)
        self.commands += len(commands)
        return len(commands)

    def close(self) -> None:
        """Stop listening, refuse what is still queued (503) and remove ``control.json``."""
        with self._lock:
            self._closed = True
            commands, self._queue = self._queue, []
        for c in commands:
            c.finish(503, {"error": "the session ended before it took the command; nothing done"})
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        try:
            if json.loads(self.file.read_text()).get("token") == self.token:
                self.file.unlink()
        except (OSError, ValueError):
            pass

    # --- the server's side --------------------------------------------------------------

    def submit(self, command: _Command, patience: float | None = None) -> tuple[int, dict[str, Any]]:
        """Queue ``command`` and wait for its reply; withdrawn (503, never run) when the
        engine has not taken it within ``patience`` seconds (at most ``take_timeout``)."""
        wait = self.take_timeout if patience is None else max(min(patience, self.take_timeout), 0.0)
        with self._lock:
            if self._closed:
                return 503, {"error": "the session has ended; nothing done"}
            self._queue.append(command)
            self._ready.set()
        self.on_queue()
        if command.done.wait(wait):
            return command.reply  # type: ignore[return-value]
        with self._lock:
            if command in self._queue:  # never taken: withdrawn, so it never runs later
                self._queue.remove(command)
                if not self._queue:
                    self._ready.clear()
                return 503, {"error": f"the session did not take the command within {wait:.3g} s "
                                      f"(busy, or catching up after a resume); nothing done"}
        command.done.wait()  # taken and running now: its reply follows
        return command.reply  # type: ignore[return-value]

    def state(self) -> dict[str, Any]:
        b = self.broker
        with b.lock:
            t = b.time
            return {"pid": os.getpid(), "time": None if t is None else t.isoformat(), "last_seq": b.last_seq,
                    "killed": bool(b.killed), "commands": self.commands,
                    "prices": {s: b.last_price(s) for s in self.symbols()}}

    def symbols(self) -> list[str]:
        return sorted(self.broker.instruments)

    def _run(self, c: _Command) -> tuple[int, dict[str, Any]]:
        b, a = self.broker, c.args
        try:
            if c.kind == "order":
                reply = b.place_order(a["symbol"], a["side"], a["quantity"], a.get("type") or "market",
                                      a.get("limit_price"), a.get("stop_price"), a.get("tif") or "day",
                                      client_id=c.by)
            elif c.kind == "cancel":
                reply = b.cancel_order(a["order_id"], by=c.by)
            else:
                if a["on"]:
                    n = b.kill_switch(c.by)
                    return 200, {"accepted": True, "killed": True, "cancelled": n, "seq": b.last_seq}
                b.reset_kill_switch(c.by)
                return 200, {"accepted": True, "killed": False, "cancelled": 0, "seq": b.last_seq}
        except (TypeError, ValueError, OverflowError) as exc:  # refused before anything is journaled
            return 400, {"error": str(exc)}
        return 200, {"accepted": reply.accepted, "order_id": reply.order_id, "seq": reply.seq,
                     "reason": None if reply.reason is None else reply.reason.value, "message": reply.message}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of clients queues instead of being reset

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a broken pipe, a reset, a timeout) is not the session's
        problem: nothing on its stderr."""


def _handler(channel: ControlChannel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "workbench-control"
        timeout = 30  # seconds a connection may sit idle (one that sends nothing is closed)

        def log_message(self, format: str, *args: Any) -> None:  # no request lines on the session's stderr
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = (json.dumps(body) + "\n").encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client went away; what was done is in the journal
                self.close_connection = True

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {channel.token}".encode()):
                self._send(401, {"error": "no or a wrong token (Authorization: Bearer <token from control.json>)"})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path in ("/orders", "/cancel", "/kill"):
                return self._send(405, {"error": f"{self.path} takes POST (GET /state reads)"})
            if self.path != "/state":
                return self._send(404, {"error": f"no {self.path[:80]!r}: GET /state, POST /orders /cancel /kill"})
            self._send(200, channel.state())

        def do_POST(self) -> None:
            if not self._authorized():
                return
            kind = {"/orders": "order", "/cancel": "cancel", "/kill": "kill"}.get(self.path)
            if kind is None:
                return self._send(404, {"error": f"no {self.path[:80]!r}: GET /state, POST /orders /cancel /kill"})
            by = self.headers.get("X-Workbench-By") or "api"
            if not SENDER.match(by):
                return self._send(400, {"error": "X-Workbench-By: 1-64 printable characters"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                return self._send(400, {"error": "Content-Length must be a whole number >= 0"})
            patience = None
            if self.headers.get("X-Workbench-Deadline"):  # the client's own wall-clock limit (unix seconds)
                try:
                    patience = float(self.headers["X-Workbench-Deadline"]) - time.time() - 0.5
                except ValueError:
                    return self._send(400, {"error": "X-Workbench-Deadline: unix time in seconds"})
                if not patience > 0:
                    return self._send(503, {"error": "the client's deadline passed before the command was read; "
                                                     "nothing done"})
            if length > MAX_BODY:
                return self._send(413, {"error": f"a body of {length} bytes (at most {MAX_BODY})"})
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as exc:
                return self._send(400, {"error": f"the body is not JSON ({exc})"})
            problem = _check(kind, body)
            if problem:
                return self._send(400, {"error": problem})
            self._send(*channel.submit(_Command(kind, body, by), patience))

    return Handler


def _check(kind: str, body: Any) -> str | None:
    """What is wrong with a command's body (None: nothing), naming the field."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if kind == "order":
        unknown = sorted(set(body) - ORDER_FIELDS)
        if unknown:
            return f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(sorted(ORDER_FIELDS))})"
        for name in ("symbol", "side"):
            if not isinstance(body.get(name), str):
                return f"{name}: a string is required"
        for name in ("type", "tif"):
            if body.get(name) is not None and not isinstance(body[name], str):
                return f"{name}: a string"
        for name in ("quantity", "limit_price", "stop_price"):
            value = body.get(name)
            if (value is not None or name == "quantity") and (isinstance(value, bool)
                                                                 or not isinstance(value, (int, float))):
                return f"{name}: a number{' is required' if name == 'quantity' else ' or null'}"
    elif kind == "cancel":
        if not isinstance(body.get("order_id"), str):
            return "order_id: a string is required"
    elif not isinstance(body.get("on"), bool):
        return "on: true or false is required"
    return None


class ControlClient:
    """Commands to the session running in a run folder (module docstring); ``by`` is
    journaled with each. :class:`ControlError` when the session is not running or refuses."""

    def __init__(self, folder: str | os.PathLike, by: str = "api", timeout: float = TAKE_TIMEOUT + 5) -> None:
        self.folder = Path(folder)
        self.by = by
        self.timeout = timeout
        try:
            info = json.loads((self.folder / CONTROL_NAME).read_text())
            self.url, self.token, self.pid = str(info["url"]), str(info["token"]), int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ControlError(f"{self.folder}: no session running there (no readable {CONTROL_NAME})") from None
        if not self.url.startswith("http://127.0.0.1:"):
            raise ControlError(f"{self.folder / CONTROL_NAME}: url {self.url!r} is not on 127.0.0.1")

    @staticmethod
    def running(folder: str | os.PathLike) -> bool:
        """Whether the process named in ``folder``'s ``control.json`` is alive and is the
        one writing the run's journal (a file left by a killed session, whose pid another
        process may have since, does not count)."""
        from workbench.broker.journal import JOURNAL_NAME, writer_pid

        try:
            pid = int(json.loads((Path(folder) / CONTROL_NAME).read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return writer_pid(Path(folder) / JOURNAL_NAME) == pid

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        # The server never runs a command after this client stopped waiting for its answer.
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "X-Workbench-By": self.by, "Content-Type": "application/json",
            "X-Workbench-Deadline": f"{time.time() + self.timeout:.3f}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except ValueError:
                message = ""
            raise ControlError(f"the session refused it ({exc.code}): {message}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ControlError(f"the session in {self.folder} did not answer ({reason}); a command it had "
                               f"already taken is in its journal (workbench journal show {self.folder})") from None

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def order(self, symbol: str, side: str, quantity: float, type: str = "market", limit_price: float | None = None,
              stop_price: float | None = None, tif: str = "day") -> dict[str, Any]:
        return self._call("POST", "/orders", {"symbol": symbol, "side": side, "quantity": quantity, "type": type,
                                              "limit_price": limit_price, "stop_price": stop_price, "tif": tif})

    def cancel(self, order_id: str) -> dict[str, Any]:
        return self._call("POST", "/cancel", {"order_id": order_id})

    def kill(self, on: bool = True) -> dict[str, Any]:
        return self._call("POST", "/kill", {"on": bool(on)})
