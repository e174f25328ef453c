"""The server's paper sessions, shared by every page and every browser.

A session lives in the server, not in a page: each has an id (``?session=ID`` in every
page's address), a broker journaled to ``RUNS/sessions/ID/journal.sqlite`` (every order,
fill, cancel and kill switch, written before it is acknowledged) and its own market clock
(a thread feeding it quotes a few times a second, whether or not anyone is looking). So a
reload, a second browser or a restart of the server shows the same orders, fills and
positions: after a restart the broker is recovered from the journal.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from workbench.apps.session import PaperSession
from workbench.broker.journal import writer_pid
from workbench.errors import ConfigError

SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DEFAULT = "demo"
TICK_S = 0.2  # the market clock: 2 quotes every 0.2 s
MAX_SESSIONS = 8  # sessions one server runs at once (each a market clock and ~15 MB): a GET cannot open more


def session_id(text: str | None) -> str:
    """A valid session id from a query string value (``DEFAULT`` when absent)."""
    text = (text or DEFAULT).strip().lower()
    if not SESSION_ID.match(text):
        raise ConfigError(f"session id {text!r}: 1-32 lowercase letters, digits or '-', starting with either")
    return text


class SessionHub:
    """Paper sessions by id (module docstring); thread-safe."""

    def __init__(self, runs: str | Path = "runs", tick_s: float = TICK_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.folder = Path(runs) / "sessions"
        self.tick_s = tick_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, PaperSession] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def journal(self, sid: str) -> Path:
        return self.folder / sid / "journal.sqlite"

    def get(self, sid: str | None = None) -> PaperSession:
        """The session ``sid``: running, recovered from its journal, or new."""
        sid = session_id(sid)
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                if len(self._sessions) >= self.max_sessions:
                    raise ConfigError(f"session {sid!r}: this server already runs {self.max_sessions} sessions "
                                      f"(the most it opens; use one of them: {', '.join(sorted(self._sessions))})")
                path = self.journal(sid)
                path.parent.mkdir(parents=True, exist_ok=True)
                seed = sum(sid.encode())  # each session its own market, the same one after a restart
                session = PaperSession(seed=seed, journal=path)
                self._sessions[sid] = session
                threading.Thread(target=self._clock, args=(session,), name=f"market-{sid}", daemon=True).start()
            return session

    def ids(self) -> list[str]:
        """Sessions running now or journaled in the folder, sorted."""
        on_disk = {p.parent.name for p in self.folder.glob("*/journal.sqlite")} if self.folder.is_dir() else set()
        with self._lock:
            return sorted(on_disk | set(self._sessions))

    def running(self, sid: str) -> bool:
        with self._lock:
            return sid in self._sessions

    def state(self, sid: str) -> str:
        """``running``, ``running in process N`` (another server or program holds its journal),
        or ``stopped`` (journaled; opens where it stopped)."""
        if self.running(sid):
            return "running"
        pid = writer_pid(self.journal(sid))
        return f"running in process {pid}" if pid else "stopped (opens where it stopped)"

    def _clock(self, session: PaperSession) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                session.advance(2)
            except Exception:  # a closed session: its clock stops
                return

    def close(self) -> None:
        """Stop every market clock and close every session (its journal flushed and unlocked)."""
        self._stop.set()
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            with session.lock:
                session.close()
