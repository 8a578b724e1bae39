"""Browser fixtures: the app on a live server, Debian's Chromium driven by Playwright, CDN assets served
from the local copies made by `scripts/install.sh --test`.

The app is the suite's `app` fixture (with real CSRF and no SERVER_NAME, through `app_config`), so every
browser test runs on SQLite and on PostgreSQL. Requests to the CDN base are answered from `.cache/assets/`
(byte-identical files, so the SRI hashes in the pages still verify, and the CSP still has to allow the CDN).
On failure every open page is saved as a PNG under `test-artifacts/`. With CI=true a missing Chromium or
asset cache fails the tests; otherwise they are skipped.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.config import ASSETS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CDN_BASE = "https://cdn.jsdelivr.net/npm"
ASSET_CACHE = ROOT / ".cache" / "assets"
ARTIFACTS = ROOT / "test-artifacts"
CI = os.environ.get("CI", "").lower() == "true"
CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".js": "application/javascript; charset=utf-8",
                 ".map": "application/json; charset=utf-8"}


def _unavailable(reason: str) -> None:
    """With CI=true a missing prerequisite is a failure, never a skip."""
    if CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# ---- assets ----------------------------------------------------------------------------------------

def _cached_version(package: str) -> str | None:
    manifest = ASSET_CACHE / package / "package" / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


def local_asset(cdn_path: str) -> Path | None:
    """The cached file for `<package>@<version>/<file>` under the CDN base, if that version is cached."""
    match = re.fullmatch(r"((?:@[^/]+/)?[^/@]+)@([^/]+)/(.+)", cdn_path)
    if not match:
        return None
    package, version, rest = match.groups()
    if _cached_version(package) != version:
        return None
    base = (ASSET_CACHE / package / "package").resolve()
    target = (base / rest).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


@pytest.fixture(scope="session")
def asset_cache() -> None:
    """The CDN assets the pages load, cached locally (else skip, or fail under CI)."""
    missing = [path for path, _sri in ASSETS.values() if local_asset(path) is None]
    if missing:
        _unavailable(f"CDN assets not cached in {ASSET_CACHE}: {', '.join(missing)} "
                     "(run: bash scripts/install.sh --test)")


# ---- browser ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium(asset_cache: None) -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, for the whole session."""
    if not CHROMIUM.exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (bash scripts/install.sh --test)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# ---- the app on a live server ------------------------------------------------------------------------

@pytest.fixture
def app_config() -> dict[str, Any]:
    """The suite's `app`, but with real CSRF and no SERVER_NAME (it is served on 127.0.0.1:port)."""
    return {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None}


class QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output (failures show the app's own errors)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing per request."""
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by Werkzeug on a free port of 127.0.0.1, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Pages:
    """Opens pages, each in its own browser context (its own cookies: one signed-in person each)."""

    browser: Any
    base_url: str
    opened: list[Any] = field(default_factory=list)
    # CSP or SRI violations and script errors seen on any page; a test asserts this stays empty.
    problems: list[str] = field(default_factory=list)

    def new(self, locale: str = "en-US") -> Any:
        """A new page in a fresh browser context (its own cookies), CDN requests answered from the cache."""
        context = self.browser.new_context(
            base_url=self.base_url, locale=locale, viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.route(f"{CDN_BASE}/**", self._serve_asset)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        self.opened.append(page)
        return page

    def _serve_asset(self, route: Any) -> None:
        url = route.request.url
        path = url[len(CDN_BASE) + 1:].split("?")[0].split("#")[0]
        local = local_asset(path)
        if local is None:
            self.problems.append(f"request for an asset that is not cached: {url}")
            route.fulfill(status=404, body="not cached", headers={"Access-Control-Allow-Origin": "*"})
            return
        route.fulfill(
            status=200, body=local.read_bytes(),
            content_type=CONTENT_TYPES.get(local.suffix, "application/octet-stream"),
            # crossorigin="anonymous" + SRI needs a CORS response, as jsDelivr sends.
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=31536000"},
        )

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(word in text for word in ("Content Security Policy", "integrity", "Refused to", "Uncaught")):
            self.problems.append(f"console: {text}")


@pytest.fixture
def pages(chromium: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Pages]:
    """Opens pages for a test; on failure saves each open page as a PNG under test-artifacts/."""
    opened = Pages(chromium, live_server)
    yield opened
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    for i, page in enumerate(opened.opened):
        if failed and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)
            except Exception as exc:  # a broken page must not hide the test's own failure
                print(f"screenshot of page {i} failed: {exc}")
        page.context.close()
