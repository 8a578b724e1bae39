#!/usr/bin/env python
"""Developer tool: full-page screenshots of every page, as several demo users, in both languages.

    .venv/bin/python scripts/screenshots.py                  # everything -> test-artifacts/screens/
    .venv/bin/python scripts/screenshots.py --users teacher --lang zh --only leads

It makes a fresh demo database in a temp folder (`sandbox init-db` + `sandbox demo --password ...`),
serves the app on 127.0.0.1 in a thread, and drives Debian's Chromium through Playwright. The CDN
assets are answered from `.cache/assets/` (made by `scripts/install.sh --test`), so it works offline
and the SRI hashes and the CSP are exercised as in production. Pages are found from the URL map: every
GET page without parameters, and the record pages (<type>/<id>, /edit, /transfer, ...) for the first
record the user can see. Look at the PNGs; this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CDN_BASE = "https://cdn.jsdelivr.net/npm"
ASSET_CACHE = ROOT / ".cache" / "assets"
PASSWORD = "Sandbox-shots26"
USERS = ["teacher", "a_manager", "a_s01", "a_observer", "admin"]
STAFF = {"teacher", "admin"}
LANGS = {"zh": "zh-CN", "en": "en-US"}
# GET endpoints that are not pages (downloads, redirects, assets).
SKIP = re.compile(r"(^static$|^bootstrap\.|^health$|export|^auth\.language$|\.xlsx|\.csv)")
CONTENT_TYPES = {".css": "text/css", ".js": "application/javascript", ".map": "application/json"}


def local_asset(cdn_path: str) -> Path | None:
    match = re.fullmatch(r"((?:@[^/]+/)?[^/@]+)@([^/]+)/(.+)", cdn_path)
    if not match:
        return None
    package, version, rest = match.groups()
    manifest = ASSET_CACHE / package / "package" / "package.json"
    if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != version:
        return None
    target = (ASSET_CACHE / package / "package" / rest).resolve()
    return target if target.is_file() else None


def serve_asset(route: Any) -> None:
    local = local_asset(route.request.url[len(CDN_BASE) + 1:].split("?")[0])
    if local is None:
        print(f"  ! CDN asset not cached: {route.request.url}", file=sys.stderr)
        route.fulfill(status=404, body="not cached")
        return
    route.fulfill(status=200, body=local.read_bytes(), content_type=CONTENT_TYPES.get(local.suffix, "text/plain"),
                  headers={"Access-Control-Allow-Origin": "*"})


def make_demo_database(folder: Path) -> str:
    url = f"sqlite:///{folder / 'demo.db'}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "screenshots"}
    sandbox = str(ROOT / ".venv" / "bin" / "sandbox")
    for args in (["init-db"], ["demo", "--password", PASSWORD]):
        done = subprocess.run([sandbox, *args], env=env, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"sandbox {' '.join(args)} failed:\n{done.stderr}")
    return url


def start_server(url: str) -> tuple[Any, Any, str]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    from sandbox import create_app

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            pass

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "screenshots", "RATELIMIT_ENABLED": False})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def page_rules(app: Any) -> list[tuple[str, str]]:
    """(endpoint, rule) of every GET page, parameterless ones first."""
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or SKIP.search(rule.endpoint) or SKIP.search(rule.rule):
            continue
        rules.append((rule.endpoint, rule.rule))
    return sorted(rules, key=lambda r: ("<" in r[1], r[1]))


def first_id(page: Any, list_path: str, pattern: str) -> str | None:
    """The id of the first link on a list page whose href matches `pattern` (one group: the id)."""
    page.goto(list_path)
    for href in page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))"):
        match = re.fullmatch(pattern, href.split("?")[0])
        if match:
            return match.group(1)
    return None


def fill(page: Any, rule: str, cache: dict[str, str | None]) -> str | None:
    """A concrete URL for a rule with one id parameter (None: nothing visible to fill it with)."""
    match = re.fullmatch(r"(/[^<]*?)<int:(\w+)>(.*)", rule)
    if not match or rule.count("<") != 1:
        return None
    prefix, _name, rest = match.groups()
    # The list page of the same prefix: /leads/<id> -> /leads/, /admin/users/<id> -> /admin/users
    key = prefix
    if key not in cache:
        lists = [prefix, prefix.rstrip("/")]
        cache[key] = None
        for list_path in lists:
            try:
                found = first_id(page, list_path, re.escape(prefix) + r"(\d+)")
            except Exception:
                found = None
            if found:
                cache[key] = found
                break
    return f"{prefix}{cache[key]}{rest}" if cache[key] else None


def sign_in(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form [type=submit]").click()


def register(page: Any, username: str) -> None:
    """Register a student for the first class through the form (it then waits in the approval queue)."""
    page.goto("/auth/register")
    page.fill("input[name=username]", username)
    page.fill("input[name=display_name]", "李明 Li Ming")
    page.fill("input[name=student_number]", "20260042")
    page.fill("input[name=email]", f"{username}@demo.school.cn")
    page.fill("input[name=password]", "register2026")
    page.fill("input[name=confirm]", "register2026")
    page.select_option("select[name=class_id]", index=1)
    with page.expect_navigation():
        page.locator("form [type=submit]").click()


def shoot(page: Any, path: str | None, target: Path, problems: list[str]) -> None:
    """Open `path` (None: the page as it is) and save a full-page PNG."""
    start = len(problems)
    response = page.goto(path) if path is not None else None
    page.wait_for_load_state("networkidle")
    shown = path or urlsplit(page.url).path + " (as it is)"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    status = response.status if response else "?"
    overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    notes = [p for p in problems[start:]]
    if overflow:
        notes.append("horizontal overflow")
    print(f"  {status} {shown} -> {target.relative_to(ROOT)}" + (f"  [{'; '.join(notes)}]" if notes else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", nargs="*", default=USERS)
    parser.add_argument("--lang", nargs="*", default=list(LANGS), choices=list(LANGS))
    parser.add_argument("--only", default="", help="only endpoints containing this text")
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "screens"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="screens-") as tmp:
        t0 = time.time()
        url = make_demo_database(Path(tmp))
        app, server, base = start_server(url)
        rules = [r for r in page_rules(app) if args.only in r[0]]
        print(f"demo database ready in {time.time() - t0:.1f}s; serving {base}; {len(rules)} page rules")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for lang in args.lang:
                problems: list[str] = []

                def new_page(lang: str = lang, problems: list[str] = problems) -> Any:
                    context = browser.new_context(base_url=base, locale=LANGS[lang],
                                                  viewport={"width": args.width, "height": 900})
                    page = context.new_page()
                    page.route(f"{CDN_BASE}/**", serve_asset)
                    page.on("console", lambda m: problems.append(m.text[:160]) if m.type == "error"
                            and "status of 40" not in m.text else None)
                    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
                    return page

                # Signed out: sign-in, registration, 404; one registration so the approval queue has a row.
                anon = new_page()
                for name, path in (("login", "/auth/login"), ("register", "/auth/register"),
                                   ("error-404", "/no-such-page")):
                    shoot(anon, path, out / lang / "anonymous" / f"{name}.png", problems)
                register(anon, f"new_{lang}")
                shoot(anon, None, out / lang / "anonymous" / "registered.png", problems)
                anon.context.close()
                for user in args.users:
                    print(f"[{lang}] {user}")
                    page = new_page()
                    sign_in(page, user)
                    cache: dict[str, str | None] = {}
                    staff = user in STAFF
                    for endpoint, rule in rules:
                        if endpoint in ("auth.login", "auth.register"):
                            continue
                        if not staff and endpoint.startswith("admin.") and endpoint != "admin.approvals":
                            continue  # 403 for everyone but staff; one sample (approvals) is enough
                        path = rule if "<" not in rule else fill(page, rule, cache)
                        if path is None:
                            continue
                        shoot(page, path, out / lang / user / f"{endpoint}.png", problems)
                    shoot(page, "/leads/999999999", out / lang / user / "error-404.png", problems)
                    page.context.close()
            browser.close()
        server.shutdown()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
