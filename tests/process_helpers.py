"""Real server processes for tests that need more than one process or a process to kill.

A test starts gunicorn (or several) over the test's database, talks to it over HTTP with a signed-in
`requests.Session`, and may kill it with SIGKILL. The servers run in their own process group, so a
failing test never leaves a worker holding a port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One running server process (gunicorn master and its workers)."""

    url: str
    proc: subprocess.Popen[str]
    log: Path
    stderr_lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        """What the server wrote so far (stdout and stderr together)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Block until the server's output contains `text` (e.g. "paused at import.inserted")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited before {text!r}:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no commit, exactly a crash."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill what is left."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(database_url: str, upload_folder: Path | str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a server over this database (fixed secret key: every process signs alike)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "process-test-secret", "PYTHONUNBUFFERED": "1"}
    if upload_folder is not None:
        env["UPLOAD_FOLDER"] = str(upload_folder)
    env.update(extra)
    return env


def start_server(database_url: str, tmp_path: Path, workers: int = 1, upload_folder: Path | str | None = None,
                 timeout: float = 60, **env: str) -> Server:
    """Start gunicorn with `workers` sync workers on a free port and wait until /healthz answers."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    handle = log.open("w")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
         "--graceful-timeout", "5", "sandbox:create_app()"],
        cwd=ROOT, env=server_env(database_url, upload_folder, **env), stdout=handle, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server did not start:\n{server.output()[-3000:]}")
        try:
            if requests.get(server.url + "/healthz", timeout=5).status_code == 200:
                return server
        except requests.RequestException:  # workers still importing the app
            pass
        time.sleep(0.1)
    server.kill()
    raise AssertionError(f"server did not answer within {timeout} s:\n{server.output()[-3000:]}")


@contextmanager
def running_server(database_url: str, tmp_path: Path, workers: int = 1, **kwargs: str) -> Iterator[Server]:
    """A server for the `with` block, stopped (or killed) afterwards whatever happens."""
    server = start_server(database_url, tmp_path, workers, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = CSRF.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def signed_in(url: str, username: str, password: str) -> requests.Session:
    """A session signed in through the real form (the cookie is tied to this session's User-Agent)."""
    client = requests.Session()
    client.headers["User-Agent"] = f"process-test/{username}"
    page = client.get(url + "/auth/login", timeout=30)
    answer = client.post(url + "/auth/login", data={"username": username, "password": password,
                                                    "csrf_token": csrf_token(page.text)},
                         allow_redirects=False, timeout=30)
    assert answer.status_code == 302, f"sign-in of {username} failed: {answer.status_code}"
    return client


def form_post(client: requests.Session, url: str, form_url: str, data: dict[str, str], **kwargs: object
              ) -> requests.Response:
    """POST a form after GETting its page for the CSRF token (as a browser does)."""
    page = client.get(url + form_url, timeout=30)
    return client.post(url + form_url, data={"csrf_token": csrf_token(page.text), **data},
                       allow_redirects=False, timeout=kwargs.pop("timeout", 60), **kwargs)  # type: ignore[arg-type]
