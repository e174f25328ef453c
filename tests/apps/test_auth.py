"""Logins: a users file of salted scrypt hashes; the server refuses to start on a missing
or malformed one; strangers (no cookie, a wrong or empty password, a foreign websocket
Origin) get nothing; the cookie secret is kept, so a login outlives a restart."""

import http.client
import json
import os
import stat
import urllib.parse
import urllib.request

import pytest

from workbench.apps.users import (
    add_user,
    check_password,
    cookie_secret,
    hash_password,
    load_users,
    remove_user,
)
from workbench.errors import ConfigError

from .conftest import start_server


def test_hashes_are_salted_and_checked():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$") and "correct" not in a
    assert check_password(a, "correct horse") and check_password(b, "correct horse")
    assert not check_password(a, "correct horsf") and not check_password(a, "")
    assert not check_password("plain-text", "plain-text")


def test_the_users_file_is_written_private_and_validated(tmp_path):
    file = tmp_path / "users.json"
    assert add_user(file, "trader", "s3cret-pass") is True
    assert add_user(file, "trader", "n3w-password") is False
    users = load_users(file)
    assert list(users) == ["trader"] and check_password(users["trader"], "n3w-password")
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    for text, where in (("{", "not readable JSON"), ('{"trader": "pw"}', "expected"),
                        ('{"format": "workbench.users/1", "users": {"trader": "pw"}}', "user 'trader': not a scrypt"),
                        ('{"format": "workbench.users/1", "users": {"a b": "scrypt$1$1$1$AA==$AA=="}}', "user 'a b'"),
                        ('{"format": "workbench.users/1", "users": {}}', "no users")):
        file.write_text(text)
        with pytest.raises(ConfigError, match=where):
            load_users(file)
    with pytest.raises(ConfigError, match="no such file"):
        load_users(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="a directory"):
        load_users(tmp_path)
    for cost in ("scrypt$1$8$1$AAAAAAAAAAA=$" + "A" * 44, "scrypt$99999999999$8$1$AAAAAAAAAAA=$" + "A" * 44,
                 "scrypt$16384$8$1$AA==$AA=="):  # costs scrypt refuses or a login cannot afford, short salts
        file.write_text(json.dumps({"format": "workbench.users/1", "users": {"trader": cost}}))
        with pytest.raises(ConfigError, match="not a scrypt hash"):
            load_users(file)
        assert check_password(cost, "anything") is False  # and a login against it is refused, not a 500
    with pytest.raises(ConfigError, match="at least 8"):
        add_user(tmp_path / "other.json", "x", "short")


def test_the_cookie_secret_is_kept(tmp_path):
    first = cookie_secret(tmp_path)
    assert cookie_secret(tmp_path) == first and len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / ".cookie_secret").st_mode) == 0o600


@pytest.mark.parametrize("content", [None, '{"trader": "s3cret-pass"}', "{"])
def test_serve_refuses_a_missing_malformed_or_plain_text_users_file(tmp_path, content, monkeypatch, capsys):
    import workbench.apps.app
    from workbench.cli import main

    monkeypatch.setattr(workbench.apps.app, "serve", lambda *a, **k: pytest.fail("it served"))
    file = tmp_path / "users.json"
    if content is not None:
        file.write_text(content)
    assert main(["serve", "--basic-auth", str(file)]) == 2
    err = capsys.readouterr().err
    assert "--basic-auth: users file" in err and str(file) in err and "Traceback" not in err


def test_serving_beyond_loopback_without_auth_warns(monkeypatch, capsys, tmp_path):
    import workbench.apps.app
    from workbench.cli import main

    import workbench.cli.serve

    served = []
    monkeypatch.setattr(workbench.apps.app, "serve", lambda *a, **k: served.append(a))
    monkeypatch.setattr(workbench.cli.serve, "_check_free", lambda address, port: None)  # 192.0.2.7 is not ours
    for address, warned in (("0.0.0.0", True), ("192.0.2.7", True), ("127.0.0.1", False), ("localhost", False),
                            ("::1", False)):
        assert main(["serve", "--address", address, "--runs", str(tmp_path)]) == 0
        err = capsys.readouterr().err
        assert ("without --basic-auth" in err) is warned, address
    users = tmp_path / "users.json"
    add_user(users, "trader", "s3cret-pass")
    assert main(["serve", "--address", "0.0.0.0", "--basic-auth", str(users)]) == 0
    assert "warning" not in capsys.readouterr().err and len(served) == 6


def request(url, method="GET", path="/", body=None, headers=None):
    """(status, headers) without following redirects."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        conn.close()


def login(url, user, password):
    body = urllib.parse.urlencode({"username": user, "password": password})
    return request(url, "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})


def user_cookie(headers) -> str | None:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("user=") and not value.startswith('user="";') and not value.startswith("user=;"):
            return value.split(";")[0]
    return None


def upgrade(url, origin, cookie):
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin, "Cookie": cookie}
    return request(url, "GET", "/ws", headers=headers)[0]


def test_strangers_get_nothing_and_a_login_outlives_a_restart(tmp_path):
    users = tmp_path / "users.json"
    add_user(users, "trader", "s3cret-pass")
    proc, url = start_server(tmp_path, "--basic-auth", str(users))
    try:
        code, headers = request(url)  # no cookie: sent to the login page, no app
        assert code == 302 and "/login" in headers["Location"]
        with urllib.request.urlopen(url + "login", timeout=30) as page:  # which loads nothing from elsewhere
            html = page.read().decode()
        assert 'name="password"' in html and "cdn." not in html and "src=\"http" not in html
        for password in ("wrong-pass", ""):
            code, headers = login(url, "trader", password)
            assert user_cookie(headers) is None, password
        code, headers = login(url, "nobody", "s3cret-pass")
        assert user_cookie(headers) is None
        code, headers = login(url, "trader", "s3cret-pass")
        cookie = user_cookie(headers)
        assert cookie is not None
        assert request(url, headers={"Cookie": cookie})[0] == 200
        port = urllib.parse.urlsplit(url).port
        assert upgrade(url, "http://evil.example", cookie) == 403  # a foreign page cannot open the app's socket
        assert upgrade(url, f"http://127.0.0.1:{port}", cookie) in (101, 400)  # ours gets past the Origin check
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    proc, url = start_server(tmp_path, "--basic-auth", str(users))  # same runs folder: same cookie secret
    try:
        assert request(url, headers={"Cookie": cookie})[0] == 200
        assert request(url, headers={"Cookie": "user=\"forged\""})[0] == 302
        add_user(users, "other", "0ther-pass")  # another user changes nothing for this login
        assert request(url, headers={"Cookie": cookie})[0] == 200
        add_user(users, "trader", "n3w-password")  # a new password ends the logins made with the old one
        assert request(url, headers={"Cookie": cookie})[0] == 302
        cookie = user_cookie(login(url, "trader", "n3w-password")[1])
        assert request(url, headers={"Cookie": cookie})[0] == 200
        remove_user(users, "trader")  # and a removed user is out at the next request
        assert request(url, headers={"Cookie": cookie})[0] == 302
    finally:
        proc.terminate()
        proc.wait(timeout=20)
