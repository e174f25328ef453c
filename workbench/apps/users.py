"""The dashboard's users file: names and salted scrypt hashes of their passwords, never the
passwords themselves (``hashlib.scrypt``, the standard library's memory-hard KDF).

Format (JSON, written by ``workbench users add NAME --file FILE``, mode 0600)::

    {"format": "workbench.users/1",
     "users": {"trader": "scrypt$16384$8$1$<salt, base64>$<hash, base64>"}}

:func:`load_users` refuses a missing, unreadable or malformed file with an error naming the
file and the user or field; a plain-text password in it is refused too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path

from workbench.errors import ConfigError
from workbench.paths import write_private

FORMAT = "workbench.users/1"
N, R, P = 2**14, 8, 1  # scrypt cost: about 16 MB and some tens of ms a check
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """``scrypt$n$r$p$salt$hash`` of ``password`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def _parts(stored: str) -> tuple[int, int, int, bytes, bytes]:
    kind, n, r, p, salt, digest = stored.split("$")
    n, r, p = int(n), int(r), int(p)
    # costs scrypt accepts and a login can afford (n a power of two up to 2**20, 128*n*r bytes <= 256 MB)
    if kind != "scrypt" or not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16
                                and 128 * n * r <= 256 * 1024 * 1024):
        raise ValueError(f"{kind}: unsupported cost n={n} r={r} p={p}")
    salt_b, digest_b = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    if len(salt_b) < 8 or len(digest_b) < 16:
        raise ValueError("salt or hash too short")
    return n, r, p, salt_b, digest_b


def fingerprint(stored: str) -> str:
    """A short digest of a stored hash: part of a login's cookie, so a changed password (or a
    removed user) ends the logins made with the old one."""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the hash ``stored`` (constant-time comparison)."""
    try:
        n, r, p, salt, digest = _parts(stored)
        candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                                   maxmem=512 * 1024 * 1024)
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest)


def load_users(path: str | os.PathLike) -> dict[str, str]:
    """``{name: hash}`` from the users file at ``path`` (module docstring); ConfigError naming
    the file and what is wrong otherwise."""
    file = Path(path)
    if file.is_dir():
        raise ConfigError(f"users file {file}: a directory, not a file")
    if not file.is_file():
        raise ConfigError(f"users file {file}: no such file (create it with: workbench users add NAME --file {file})")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"users file {file}: not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("users"), dict):
        raise ConfigError(f"users file {file}: expected {{\"format\": \"{FORMAT}\", \"users\": {{...}}}} "
                          f"(write it with: workbench users add NAME --file {file})")
    if not data["users"]:
        raise ConfigError(f"users file {file}: no users (add one with: workbench users add NAME --file {file})")
    for name, stored in data["users"].items():
        if not NAME.match(name):
            raise ConfigError(f"users file {file}: user {name!r}: a name is 1-64 letters, digits or _.@-")
        try:
            _parts(stored)
        except (ValueError, TypeError, AttributeError):
            raise ConfigError(f"users file {file}: user {name!r}: not a scrypt hash this program wrote (plain-text passwords are "
                              f"refused; set it with: workbench users add {name} --file {file})") from None
    return dict(data["users"])


class UsersFile:
    """The users of a users file as they are now: read again whenever the file changes, so a
    removed user or a changed password takes effect without a restart (a file that turns
    malformed lets nobody in)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._stamp: tuple | None = None
        self._users: dict[str, str] = load_users(self.path)  # refused at start: a clear error
        self._stamp = self._stat()

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def current(self) -> dict[str, str]:
        stamp = self._stat()
        if stamp != self._stamp:
            try:
                self._users = load_users(self.path)
            except ConfigError:
                self._users = {}
            self._stamp = stamp
        return self._users

    def get(self, name: str) -> str | None:
        return self.current().get(name)


def remove_user(path: str | os.PathLike, name: str) -> None:
    """Remove ``name`` from the users file at ``path`` (its logins end at their next request)."""
    file = Path(path)
    users = load_users(file)
    if name not in users:
        raise ConfigError(f"users file {file}: no user {name!r} (users: {', '.join(sorted(users))})")
    del users[name]
    _write(file, users)


def _write(file: Path, users: dict[str, str]) -> None:
    write_private(file, json.dumps({"format": FORMAT, "users": users}, indent=2) + "\n")


def add_user(path: str | os.PathLike, name: str, password: str) -> bool:
    """Add ``name`` (or change its password) in the users file at ``path``, made if missing;
    returns whether the user is new. Written whole to a temporary file, then renamed."""
    if not NAME.match(name):
        raise ConfigError(f"user name {name!r}: 1-64 letters, digits or _.@-")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password for {name!r}: at least {MIN_PASSWORD} characters")
    file = Path(path)
    users = load_users(file) if file.exists() else {}
    new = name not in users
    users[name] = hash_password(password)
    _write(file, users)
    return new


def cookie_secret(folder: str | os.PathLike) -> str:
    """The cookie secret kept in ``folder/.cookie_secret`` (made once, mode 0600), so logins
    survive a restart of the server."""
    file = Path(folder) / ".cookie_secret"
    if file.is_file():
        secret = file.read_text().strip()
        if len(secret) >= 32:
            return secret
    secret = secrets.token_hex(32)
    write_private(file, secret + "\n")
    return secret
