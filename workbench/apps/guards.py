"""What stands between the served app and a stranger: component resources that import
nothing, and logins that cannot be guessed at speed.

* :class:`ComponentResources` replaces Panel's ``/components/<module>/<class>/<attr>/<path>``
  handler, which imports whatever module a URL names. Ours serves only modules already
  imported by the app and belonging to Panel or workbench, and refuses a path with ``..``
  or an empty part: a 404, nothing imported, no traceback logged.
* :class:`LimitedLogins` is Panel's basic-auth provider with a login handler that counts
  failed logins per client address: after :data:`MAX_FAILURES` within
  :data:`WINDOW_S` seconds further attempts get ``429 Too Many Requests`` (with
  ``Retry-After``) until the window has passed, whatever the password.
"""

from __future__ import annotations

import hmac
import sys
import time
from collections import deque
from typing import Any

from panel.auth import BasicAuthProvider, BasicLoginHandler
from panel.io.server import ComponentResourceHandler
from tornado.web import HTTPError

from workbench.apps.users import UsersFile, check_password, fingerprint, hash_password

ALLOWED_PACKAGES = ("panel", "bokeh", "workbench")
MAX_FAILURES = 5  # failed logins per address ...
WINDOW_S = 60.0  # ... within this many seconds
_DECOY = hash_password("not a password of anyone")


class ComponentResources(ComponentResourceHandler):
    """Panel's component resources, for modules the app has already imported (module docstring)."""

    def parse_url_path(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) < 4 or any(p in ("", ".", "..") for p in parts[:3]) or ".." in parts:
            raise HTTPError(404)
        module = parts[0]
        if module.split(".")[0] not in ALLOWED_PACKAGES or module not in sys.modules:
            raise HTTPError(404)
        return super().parse_url_path(path)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, HTTPError):  # a refused path is a 404 line, not a traceback
            return
        super().log_exception(typ, value, tb)


class LimitedLogins(BasicAuthProvider):
    """Logins checked against a users file of scrypt hashes (:mod:`workbench.apps.users`),
    rate-limited per client address (module docstring). ``users``: ``{name: hash}``."""

    def __init__(self, users: UsersFile, **options: Any) -> None:
        self._credentials = users
        self._handler = None
        super().__init__(**options)

    @property
    def get_user(self):
        """The login of a request: its cookie's ``name:fingerprint`` must match the users file
        as it is now (a removed user or a changed password ends the login at once)."""
        decode = super().get_user
        users = self._credentials

        def get_user(handler):
            value = decode(handler)
            name, _, mark = (value or "").rpartition(":")
            stored = users.get(name) if name else None
            return name if stored is not None and hmac.compare_digest(mark, fingerprint(stored)) else None

        return get_user

    @property
    def login_handler(self):
        """The login handler of this server: its own class, so its failure counts are its own."""
        if self._handler is None:
            self._handler = type("LimitedLoginHandler", (_LimitedLoginHandler,), {
                "_credentials": self._credentials, "_failures": {}, "_login_endpoint": self._login_endpoint,
                "_login_template": self._login_template})
        return self._handler


class _LimitedLoginHandler(BasicLoginHandler):
    _credentials: UsersFile
    _failures: dict[str, deque[float]]

    def _validate(self, username: str, password: str) -> bool:
        stored = self._credentials.get(username)
        # an unknown name costs a hash too, so timing does not tell which names exist
        return check_password(stored or _DECOY, password) and stored is not None and bool(password)

    def set_current_user(self, user) -> None:
        stored = self._credentials.get(user) if user else None
        super().set_current_user(f"{user}:{fingerprint(stored)}" if stored else user)

    def post(self) -> None:
        address = self.request.remote_ip or "?"
        now = time.monotonic()
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - WINDOW_S:
            failures.popleft()
        if len(failures) >= MAX_FAILURES:
            wait = int(failures[0] + WINDOW_S - now) + 1
            self.set_status(429)
            self.set_header("Retry-After", str(wait))
            self.write(f"Too many failed logins from this address; try again in {wait} s.")
            return
        if self._validate(self.get_argument("username", ""), self.get_argument("password", "")):
            failures.clear()
        else:
            failures.append(now)
        super().post()
