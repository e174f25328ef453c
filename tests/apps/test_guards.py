"""The served app against a stranger: component paths import nothing, traversal gets a
404 without a traceback, and guessing passwords is slowed to a stop per address."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from panel.io.server import ComponentResourceHandler

from workbench.apps.users import add_user

from .conftest import free_port

CANARY = "wb_canary_module"


def serve(tmp_path, *extra):
    """``workbench serve`` with a canary module on its path: importing it leaves a file."""
    (tmp_path / f"{CANARY}.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--runs",
                             str(tmp_path / "runs"), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # readiness by polling, not a fixed wait (/liveness builds no session)
        try:
            urllib.request.urlopen(url + "/liveness", timeout=5).close()
            return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(proc.stdout.read()[-2000:])
            time.sleep(0.2)


def status(url: str, data: dict | None = None) -> int:
    request = urllib.request.Request(url, data=None if data is None else urllib.parse.urlencode(data).encode())
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_component_paths_import_nothing_and_traversal_is_a_quiet_404(tmp_path):
    proc, url = serve(tmp_path)
    try:
        for path in (f"/components/{CANARY}/A/_css/x.css", "/components/x/y", "/components/os/path/_css/x",
                     "/components/../../etc/passwd", "/components/%2e%2e/%2e%2e/etc/passwd"):
            assert status(url + path) == 404, path
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert not (tmp_path / "imported").exists() and "Traceback" not in output


def test_panels_own_handler_would_import_the_canary(tmp_path, monkeypatch):
    """What the guard prevents: Panel's handler imports whatever module the path names."""
    (tmp_path / f"{CANARY}.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nclass A: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        ComponentResourceHandler.parse_url_path(object.__new__(ComponentResourceHandler), f"{CANARY}/A/_css/x.css")
    except Exception:
        pass
    finally:
        sys.modules.pop(CANARY, None)
    assert (tmp_path / "imported").exists()


def test_logins_are_rate_limited_per_address(tmp_path):
    from workbench.apps.guards import MAX_FAILURES

    creds = tmp_path / "users.json"
    add_user(creds, "trader", "s3cret-pass")
    proc, url = serve(tmp_path, "--basic-auth", str(creds))
    try:
        wrong = [status(url + "/login", {"username": "trader", "password": f"guess{i}"}) for i in range(MAX_FAILURES)]
        assert wrong == [302] * MAX_FAILURES  # back to the login page with an error
        assert status(url + "/login", {"username": "trader", "password": "guess-again"}) == 429
        # Even the right password waits now: the address is guessing.
        assert status(url + "/login", {"username": "trader", "password": "s3cret-pass"}) == 429
    finally:
        proc.terminate()
        proc.wait(timeout=20)
