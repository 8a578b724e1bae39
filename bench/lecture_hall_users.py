"""The simulated lecture hall (Locust, in-process): students and instructors, then the bare-page ceiling.

Run by `bench/lecture_hall.py` in a child process of its own, because importing Locust monkey-patches the
standard library for gevent (the parent builds databases, forks scenario generation and talks to
PostgreSQL, none of which should run on a patched library):

    python -m bench.lecture_hall_users CONFIG.json

CONFIG names the server, the roster, the phase lengths and the output folder; the child writes
`result.json` (per-phase statistics, the writes every student made) plus Locust's CSV files and HTML
report into that folder. Students sign in through the real form with their own account, then follow a
weighted script of pages and writes with think time; a POST is followed by the GET of the page it
redirects to, as a browser does, and a warning or danger flash on that page counts as a failed write.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, events, task
from locust.env import Environment
from locust.html import get_html_report
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
ATTR = re.compile(r'([\w-]+)="([^"]*)"')
INPUT = re.compile(r"<input\b([^>]*)>", re.S)
SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
OPTION = re.compile(r"<option\b([^>]*)>", re.S)
TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S)
BAD_FLASH = re.compile(r'class="alert alert-(?:danger|warning)[^"]*"[^>]*>([^<]*)')
CLOSED_STAGES = {"closed_won", "closed_lost"}
SEARCH_LETTERS = "aeinosu"  # substrings present in many generated names (pinyin and English)
# At the end of a phase a user finishes the task it is in (up to this long) instead of being killed in it: a
# user killed between a write's answer and its record() would leave a committed write the check never hears
# of, and a stage moved after its last recorded move looks like a lost write.
STOP_TIMEOUT = 60.0


def attrs(text: str) -> dict[str, str]:
    """The attributes of one tag (double-quoted values, as Jinja renders them)."""
    return {k: v.replace("&amp;", "&") for k, v in ATTR.findall(text)}


def forms(html: str) -> list[tuple[str, dict[str, str], dict[str, list[str]]]]:
    """Every form of a page: (action, the values a browser would submit, the choices of each select)."""
    found = []
    for head, body in FORM.findall(html):
        action = attrs(head).get("action", "")
        values: dict[str, str] = {}
        options: dict[str, list[str]] = {}
        for tag in INPUT.findall(body):
            a = attrs(tag)
            kind = a.get("type", "text")
            if "name" not in a or kind in ("submit", "button", "file"):
                continue
            if kind in ("checkbox", "radio") and " checked" not in tag:
                continue
            values[a["name"]] = a.get("value", "y" if kind == "checkbox" else "")
        for head_s, body_s in SELECT.findall(body):
            name = attrs(head_s).get("name")
            if not name:
                continue
            opts = [attrs(o) for o in OPTION.findall(body_s)]
            options[name] = [o.get("value", "") for o in opts]
            chosen = [o for o, raw in zip(opts, OPTION.findall(body_s), strict=True) if " selected" in raw]
            values[name] = (chosen[0] if chosen else (opts[0] if opts else {})).get("value", "")
        for head_t, body_t in TEXTAREA.findall(body):
            name = attrs(head_t).get("name")
            if name:
                values[name] = body_t.strip()
        found.append((action, values, options))
    return found


def form_at(html: str, action_part: str, here: str = "") -> tuple[str, dict[str, str], dict[str, list[str]]] | None:
    """The first form whose action contains `action_part` (an empty action posts to the page itself, `here`)."""
    return next((f for f in forms(html) if action_part in (f[0] or here)), None)


def ids(html: str, prefix: str) -> list[int]:
    """Record ids linked from a page, e.g. ids(page, "/leads/")."""
    return sorted({int(x) for x in re.findall(rf'href="{re.escape(prefix)}(\d+)"', html)})


class Hall:
    """What the run shares between simulated users: accounts still free and the writes made so far."""

    students: list[str] = []
    instructors: list[str] = []
    password = ""
    writes: list[dict[str, Any]] = []
    arrived = 0  # users whose sign-in is over (whatever its outcome)
    signed_in = 0
    every_write_once = False
    _next_student = itertools.count()
    _next_instructor = itertools.count()

    @classmethod
    def take(cls, role: str) -> str:
        """The next unused account of this role (each simulated user signs in as one person)."""
        pool, counter = (cls.students, cls._next_student) if role == "student" else (cls.instructors, cls._next_instructor)
        return pool[next(counter) % len(pool)]


class Person(FastHttpUser):
    """A signed-in person of the hall (abstract): signs in through the real form, checks every page."""

    abstract = True
    role = "student"
    think = 10.0
    username = ""

    def on_start(self) -> None:
        """Sign in with one's own account, as a browser: GET the form, POST it, land on the dashboard."""
        self.username = Hall.take(self.role)
        page = self.page("/auth/login", "GET /auth/login (sign-in)")
        form = form_at(page or "", "/auth/login", "/auth/login")
        data = dict(form[1]) if form else {}
        data.update(username=self.username, password=Hall.password)
        try:
            if self.submit("/auth/login", data, "POST /auth/login (sign-in)", expect_to="/"):
                Hall.signed_in += 1
                self.on_signed_in()
        finally:
            Hall.arrived += 1

    def on_signed_in(self) -> None:
        """What a user does once, right after signing in (part of the ramp)."""

    def page(self, url: str, name: str) -> str | None:
        """GET a page that must answer 200 (a redirect to the sign-in page is a lost session: a failure)."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
                return None
            return response.text

    def submit(self, url: str, data: dict[str, str], name: str, expect_to: str | None = None) -> str | None:
        """POST a form; it must redirect (302); then GET where it leads, which must show no refusal.

        Returns the redirect's path, or None when the write failed (then it is reported as a failure).
        """
        with self.client.post(url, data=data, name=name, allow_redirects=False, catch_response=True) as response:
            location = response.headers.get("Location", "")
            if response.status_code != 302:
                body = response.text or ""
                snippet = BAD_FLASH.search(body) or re.search(r"invalid-feedback[^>]*>([^<]*)", body)
                response.failure(f"{response.status_code} {snippet.group(1).strip() if snippet else ''}"[:200])
                return None
            path = re.sub(r"^https?://[^/]+", "", location)
            if expect_to is not None and not path.startswith(expect_to):
                response.failure(f"redirected to {path}")
                return None
        path = path.split("#")[0]
        landing = "GET (after POST) " + re.sub(r"/\d+", "/[id]", path.split("?")[0])
        with self.client.get(path, name=landing, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} after the POST")
                return None
            refused = BAD_FLASH.search(response.text or "")
            if refused:
                response.failure(f"refused: {refused.group(1).strip()}"[:200])
                return None
        return path


class Student(Person):
    """A student working their books: reads lists and records, writes now and then."""

    role = "student"
    wait_time = between(5, 15)

    def on_start(self) -> None:
        """Sign in, then keep the ids of one's own records as the pages show them."""
        self.my_leads: list[int] = []  # created in this run, not converted yet, newest last
        self.called: set[int] = set()
        self.known: dict[str, list[int]] = {"leads": [], "accounts": [], "opportunities": [], "cases": []}
        super().on_start()

    def on_signed_in(self) -> None:
        """With `every_write_once` (the quick mode), make each kind of write once before the random mix."""
        if Hall.every_write_once:
            for step in (self.create_lead, self.log_call, self.convert, self.add_line, self.move_stage):
                step()

    def record(self, kind: str, **what: Any) -> None:
        """Remember a write for the check afterwards."""
        Hall.writes.append({"kind": kind, "user": self.username, "at": time.time(), **what})

    def listing(self, kind: str, query: str = "") -> None:
        """A list page (search or a later page), remembering the ids it links."""
        name = f"GET /{kind}/" + (" (search)" if "q=" in query else " (page 2)" if "page=" in query else "")
        html = self.page(f"/{kind}/{query}", name)
        if html:
            found = ids(html, f"/{kind}/")
            if found:
                self.known[kind] = found

    def detail(self, kind: str) -> str | None:
        """A record page of one of the records the lists showed."""
        if not self.known[kind]:
            self.listing(kind)
        if not self.known[kind]:
            return None
        return self.page(f"/{kind}/{random.choice(self.known[kind])}", f"GET /{kind}/[id]")

    @task(10)
    def dashboard(self) -> None:
        """The home page."""
        self.page("/", "GET / (dashboard)")

    @task(8)
    def leads_list(self) -> None:
        """The lead list: plain, searched or paged."""
        self.listing("leads", random.choice(["", f"?q={random.choice(SEARCH_LETTERS)}", "?page=2"]))

    @task(4)
    def accounts_list(self) -> None:
        """The account list, sometimes searched."""
        self.listing("accounts", random.choice(["", f"?q={random.choice(SEARCH_LETTERS)}"]))

    @task(4)
    def opportunities_list(self) -> None:
        """The opportunity list, sometimes paged."""
        self.listing("opportunities", random.choice(["", "?page=2"]))

    @task(6)
    def lead_page(self) -> None:
        """A lead's page."""
        self.detail("leads")

    @task(3)
    def account_page(self) -> None:
        """An account's page."""
        self.detail("accounts")

    @task(5)
    def opportunity_page(self) -> None:
        """An opportunity's page."""
        self.detail("opportunities")

    @task(4)
    def progress(self) -> None:
        """The student's own progress against the objectives."""
        self.page("/me/progress", "GET /me/progress")

    @task(3)
    def service(self) -> None:
        """The service pages: the case list, a case, the knowledge base."""
        choice = random.random()
        if choice < 0.4:
            self.listing("cases")
        elif choice < 0.7:
            self.detail("cases")
        else:
            self.page("/knowledge/", "GET /knowledge/")

    @task(3)
    def create_lead(self) -> None:
        """Open the new-lead form and save a lead with a name nobody else uses."""
        html = self.page("/leads/new", "GET /leads/new")
        form = form_at(html or "", "/leads/new", "/leads/new")
        if not form:
            return
        token = f"LH {self.username} {uuid.uuid4().hex[:10]}"
        data = {**form[1], "name": token, "company": f"{token} Co.", "status": "new"}
        path = self.submit("/leads/new", data, "POST /leads/new", expect_to="/leads/")
        match = re.match(r"/leads/(\d+)", path or "")
        if match:
            lead_id = int(match.group(1))
            self.my_leads.append(lead_id)
            self.record("lead.create", id=lead_id, name=token)

    @task(3)
    def log_call(self) -> None:
        """Log a call from the page of one of one's own open leads (the one-click button)."""
        if not self.my_leads:
            return self.create_lead()
        lead_id = random.choice(self.my_leads)
        html = self.page(f"/leads/{lead_id}", "GET /leads/[id]")
        form = form_at(html or "", "/activities/log-call")
        if not form:
            return None
        subject = f"LH call {uuid.uuid4().hex[:12]}"
        if self.submit("/activities/log-call", {**form[1], "subject": subject}, "POST /activities/log-call",
                       expect_to=f"/leads/{lead_id}"):
            self.called.add(lead_id)
            self.record("activity.log_call", lead_id=lead_id, subject=subject)
        return None

    @task(1)
    def convert(self) -> None:
        """Convert one of one's own leads that had a call into account, contact and opportunity."""
        ready = [i for i in self.my_leads if i in self.called]
        if not ready:
            return self.log_call()
        lead_id = ready[0]
        html = self.page(f"/leads/{lead_id}/convert", "GET /leads/[id]/convert")
        form = form_at(html or "", "/convert", f"/leads/{lead_id}/convert")
        if not form:
            return None
        data = {**form[1], "account_mode": "new", "contact_id": "0", "create_opportunity": "y",
                "opportunity_name": f"LH deal {lead_id}", "stage": "prospecting", "close_date": "2030-06-30"}
        path = self.submit(f"/leads/{lead_id}/convert", data, "POST /leads/[id]/convert")
        self.my_leads.remove(lead_id)
        if path:
            opp = re.match(r"/opportunities/(\d+)", path)
            self.record("lead.convert", id=lead_id, opportunity_id=int(opp.group(1)) if opp else None)
            if opp:
                self.known["opportunities"].append(int(opp.group(1)))
        return None

    def open_opportunity(self) -> tuple[int, str] | None:
        """An opportunity page of one's own that is still open (stage buttons are shown only then)."""
        for _ in range(3):
            html = self.detail("opportunities")
            if html and form_at(html, "/stage"):
                match = re.search(r'action="/opportunities/(\d+)/stage"', html)
                if match:
                    return int(match.group(1)), html
        return None

    @task(2)
    def add_line(self) -> None:
        """Add a product line from an open opportunity's page."""
        found = self.open_opportunity()
        form = form_at(found[1], "/lines/new") if found else None
        if not found or not form:
            return
        opp_id, (action, values, _options) = found[0], form
        # The page's picker holds the placeholder alone; a browser fetches the choices as the form is reached for.
        answer = self.page(f"/opportunities/{opp_id}/pickers", "GET /opportunities/[id]/pickers")
        if answer is None:
            return
        products = [attrs(o).get("value", "") for o in OPTION.findall(json.loads(answer).get("product_id", ""))]
        products = [p for p in products if p not in ("", "0")]
        if not products:
            return
        product = random.choice(products)
        data = {**values, "product_id": product, "quantity": str(random.randint(1, 20)), "discount": "0"}
        if self.submit(action, data, "POST /opportunities/[id]/lines/new", expect_to=f"/opportunities/{opp_id}"):
            self.record("opportunity.add_line", id=opp_id, product_id=int(product))

    @task(2)
    def move_stage(self) -> None:
        """Move an open opportunity to another open stage with the stage path's buttons."""
        found = self.open_opportunity()
        if not found:
            return
        opp_id, html = found
        stages = [f for f in forms(html) if f[0].endswith(f"/opportunities/{opp_id}/stage")
                  and f[1].get("stage") not in CLOSED_STAGES]
        if not stages:
            return
        action, values, _ = random.choice(stages)
        if self.submit(action, values, "POST /opportunities/[id]/stage", expect_to=f"/opportunities/{opp_id}"):
            self.record("opportunity.stage_change", id=opp_id, stage=values["stage"])


class Instructor(Person):
    """An instructor watching the class: refreshes the gradebook and the class activity."""

    role = "instructor"
    wait_time = between(5, 15)

    @task(3)
    def gradebook(self) -> None:
        """The class's gradebook."""
        self.page("/grading/", "GET /grading/ (gradebook)")

    @task(2)
    def activity(self) -> None:
        """The class activity page."""
        self.page("/grading/activity", "GET /grading/activity")


class Bare(FastHttpUser):
    """The ceiling: a bare page served by the same server, as fast as it answers."""

    wait_time = constant(0)

    @task
    def health(self) -> None:
        """GET /healthz."""
        self.client.get("/healthz", name="GET /healthz (bare)")


def summary(env: Environment, seconds: float) -> dict[str, Any]:
    """Per request kind and in total: count, failures, req/s over the phase, p50/p95/p99, mean (ms)."""
    def row(entry: Any) -> dict[str, Any]:
        return {"name": entry.name, "method": entry.method, "count": entry.num_requests, "failures": entry.num_failures,
                "rps": round(entry.num_requests / seconds, 2) if seconds else 0.0,
                "p50": entry.get_response_time_percentile(0.5), "p95": entry.get_response_time_percentile(0.95),
                "p99": entry.get_response_time_percentile(0.99), "mean": round(entry.avg_response_time, 1)}

    kinds = sorted((row(e) for e in env.stats.entries.values()), key=lambda r: -r["count"])
    errors = [{"name": e.name, "method": e.method, "error": str(e.error), "count": e.occurrences}
              for e in env.stats.errors.values()]
    return {"seconds": round(seconds, 1), "total": row(env.stats.total), "kinds": kinds, "errors": errors}


def write_reports(env: Environment, folder: Path, prefix: str) -> None:
    """Locust's own CSV files (stats, failures) and HTML report of a phase."""
    writer = StatsCSV(env, PERCENTILES_TO_REPORT)
    with (folder / f"{prefix}_stats.csv").open("w", newline="") as handle:
        writer.requests_csv(csv.writer(handle))
    with (folder / f"{prefix}_failures.csv").open("w", newline="") as handle:
        writer.failures_csv(csv.writer(handle))
    (folder / f"{prefix}_report.html").write_text(get_html_report(env), encoding="utf-8")


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU time (user + system) used so far by a process and each of its descendants, by pid: gunicorn's master
    and workers, or PostgreSQL's postmaster and backends. Empty when `pid` is not measured (0: psutil's process 0
    is the kernel's, parent of everything) or gone."""
    import psutil  # a dependency of Locust

    if pid <= 0:
        return {}
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    times: dict[int, float] = {}
    for proc in family:
        try:
            cpu = proc.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        times[proc.pid] = cpu.user + cpu.system
    return times


def cpu_spent(before: dict[int, float], pid: int) -> float:
    """CPU the family of `pid` spent since `before` (its cpu_by_process then), counted per process: one that ended
    meanwhile (a database backend that closed) takes its time away with it, and must not make the sum go down."""
    return float(sum(max(0.0, now - before.get(member, 0.0)) for member, now in cpu_by_process(pid).items()))


def environment(user_classes: list[type], host: str) -> Environment:
    """A Locust environment whose users, when the phase ends, finish the task they are in."""
    return Environment(user_classes=user_classes, host=host, events=events, stop_timeout=STOP_TIMEOUT)


def hall_phase(config: dict[str, Any], folder: Path, say: Any) -> dict[str, Any]:
    """Ramp (sign-ins), warm-up, then the measured steady state; the ramp's figures are kept apart."""
    think = float(config["think"])
    for cls in (Student, Instructor):
        cls.wait_time = between(0.5 * think, 1.5 * think)
    Instructor.fixed_count = int(config["instructors"])
    users = int(config["students"]) + int(config["instructors"])
    env = environment([Student, Instructor], config["url"])
    runner = env.create_local_runner()
    start = time.monotonic()
    runner.start(users, spawn_rate=float(config["spawn_rate"]))
    while Hall.arrived < users and time.monotonic() - start < float(config["ramp_limit"]):
        gevent.sleep(0.2)
    ramp_seconds = time.monotonic() - start
    ramp = summary(env, ramp_seconds)
    say(f"ramp: {Hall.signed_in} of {users} users signed in over {ramp_seconds:.0f} s "
        f"(sign-in p95 {next((k['p95'] for k in ramp['kinds'] if 'sign-in' in k['name'] and k['method'] == 'POST'), 0)} ms)")
    write_reports(env, folder, "ramp")
    gevent.sleep(float(config["warmup"]))  # every user has been through a think time once: arrivals even out
    env.stats.reset_all()
    measured_from = time.monotonic()
    server, database = int(config.get("server_pid") or 0), int(config.get("database_pid") or 0)
    server_cpu, own_cpu, database_cpu = cpu_by_process(server), cpu_by_process(os.getpid()), cpu_by_process(database)
    say(f"steady state: {users} users for {config['duration']} s …")
    gevent.sleep(float(config["duration"]))
    steady = summary(env, time.monotonic() - measured_from)
    # CPU the server and the load generator spent in the steady state: on a shared machine the time per request
    # (and so a capacity estimate) is read from it rather than from wall-clock latencies.
    steady["server_cpu_seconds"] = round(cpu_spent(server_cpu, server), 2)
    steady["client_cpu_seconds"] = round(cpu_spent(own_cpu, os.getpid()), 2)
    # A PostgreSQL server on this machine (0: SQLite, or a database elsewhere) takes the same cores.
    steady["database_cpu_seconds"] = round(cpu_spent(database_cpu, database), 2)
    # The machine's load over the last minute: on a shared machine other processes take CPU from the server too.
    steady["load_average"] = round(os.getloadavg()[0], 2)
    write_reports(env, folder, "steady")
    runner.quit()
    return {"users": users, "ramp": ramp, "steady": steady, "signed_in": Hall.signed_in}


def drain(url: str, limit: float = 180.0) -> float:
    """Wait until the server answers /healthz within 0.2 s: requests of stopped users may still be queued."""
    import urllib.request

    start = time.monotonic()
    while time.monotonic() - start < limit:
        asked = time.monotonic()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=30) as answer:
                answer.read()
        except OSError:
            pass
        if time.monotonic() - asked < 0.2:
            break
        gevent.sleep(0.5)
    return time.monotonic() - start


def bare_phase(config: dict[str, Any], folder: Path, say: Any) -> dict[str, Any]:
    """The bare page at saturation, right after the hall on the same server (once its queue has drained)."""
    waited = drain(config["url"])
    if waited > 1:
        say(f"the server's queue drained in {waited:.0f} s")
    env = environment([Bare], config["url"])
    runner = env.create_local_runner()
    users = int(config["bare_users"])
    runner.start(users, spawn_rate=users)
    gevent.sleep(1.0)
    env.stats.reset_all()
    start = time.monotonic()
    server = int(config.get("server_pid") or 0)
    server_cpu = cpu_by_process(server)
    gevent.sleep(float(config["bare_seconds"]))
    result = summary(env, time.monotonic() - start)
    result["server_cpu_seconds"] = round(cpu_spent(server_cpu, server), 2)
    write_reports(env, folder, "bare")
    runner.quit()
    say(f"bare page: {result['total']['rps']} req/s")
    return result


def main(argv: list[str]) -> int:
    """Run the phases named by the config file and write result.json next to the reports."""
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    folder = Path(config["out"])
    folder.mkdir(parents=True, exist_ok=True)
    Hall.students, Hall.instructors, Hall.password = config["student_accounts"], config["instructor_accounts"], config["password"]
    Hall.every_write_once = bool(config.get("every_write_once"))

    def say(line: str) -> None:
        print(line, flush=True)

    hall = hall_phase(config, folder, say)
    bare = bare_phase(config, folder, say) if config.get("bare_seconds") else None
    result = {**hall, "bare": bare, "writes": Hall.writes}
    (folder / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
