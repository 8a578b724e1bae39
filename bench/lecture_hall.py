"""The lecture-hall load test: a generated school under a production server, students and instructors at once.

One command:

    python -m bench.lecture_hall --engine sqlite|postgresql --workers 4 --students 1000 --think 10 --duration 120
    python -m bench.lecture_hall --engine postgresql --find-capacity          # steps the student count up
    python -m bench.lecture_hall --quick                                       # a smoke run of seconds

What it does, in order:
1. builds a fresh database (SQLite in WAL, or a private PostgreSQL cluster it starts with scripts/postgres.sh):
   the real migrations, then a roster of `--classes` classes of students (departments of 10) with
   `--instructors` instructors each, and a scenario loaded into every class by the real loader (odd
   classes "sales-basics", even classes "service-desk", so the service pages have cases and articles).
   The generated roster shares one cheap password hash (pbkdf2 with 1,000 rounds instead of the default):
   building 1,000 real hashes would take minutes, and the sign-ins are reported apart from the steady state;
2. starts the production server exactly as documented, `sandbox serve --workers N`, in its own process
   group (killed on exit, on Ctrl+C and on SIGTERM), with the failed-sign-in throttle raised for the run
   (every simulated student comes from 127.0.0.1);
3. runs Locust headless in a child process (`bench/lecture_hall_users.py`): the ramp (every user signs in
   through the form), a warm-up of one think time, then the measured steady state (statistics reset after
   the warm-up, so the ramp is reported separately), then the bare page `/healthz` at saturation on the same
   server (the ceiling);
4. checks every write the students made against the database (the record exists with its values and owner,
   its log entry exists with its actor) and, over HTTP, that sampled students get 404 for other students'
   leads and do not find them by search;
5. prints throughput, p50/p95/p99 per request kind, errors, the ratio to the bare page and the verdict
   (p95 < 300 ms, 0 errors, every write verified), and writes Locust's CSV and HTML reports into
   test-artifacts/lecture-hall/<time>-<engine>-<students>/ (git-ignored).

The exit status is 0 when the run passed (with --find-capacity: when some student count passed).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Lecture-Hall-1"
SCENARIOS = ("sales-basics", "service-desk")
P95_LIMIT_MS = 300
MIN_STUDENTS = 10  # --find-capacity halves a failing first count down to this
DEPARTMENT_SIZE = 10
BIN = Path(sys.executable).parent

Say = Callable[[str], None]


@dataclass
class Options:
    """What one run (or one capacity search) is asked to do."""

    engine: str = "sqlite"
    workers: int = 4
    threads: int = 1
    students: int = 1000
    classes: int = 10
    instructors: int = 2
    think: float = 10.0
    duration: float = 120.0
    spawn_rate: float = 10.0
    warmup: float | None = None  # default: one think time and a half
    bare_seconds: float = 15.0
    bare_users: int = 16
    out: Path = ROOT / "test-artifacts" / "lecture-hall"
    database_url: str = ""
    pg_port: int = 0
    find_capacity: bool = False
    start: int = 100
    step: int = 100
    quick: bool = False
    privacy_samples: int = 6


@dataclass
class Roster:
    """The generated accounts: students interleaved across classes (so any first N spread over every class)."""

    students: list[str] = field(default_factory=list)
    instructors: list[str] = field(default_factory=list)
    class_of: dict[str, int] = field(default_factory=dict)


# ---- the database ------------------------------------------------------------------------------------------------
def bench_app(url: str, uploads: Path) -> Any:
    """An app over the run's database (no CSRF or throttle: it only builds and checks)."""
    from sandbox import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "lecture-hall", "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(uploads)})


def roster_tree(classes: int, per_class: int, instructors: int) -> tuple[Any, Roster]:
    """Positions and users: org › teacher › class › departments of 10 › one salesperson seat each."""
    from werkzeug.security import generate_password_hash

    from bench.data import _Tree
    from sandbox.org.models import Role

    tree, roster = _Tree(), Roster()
    # Cheap on purpose (see the module docstring); the sign-in still checks it the normal way.
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Lecture Hall School", None)
    teacher = tree.position(root, "teacher", "Teacher", None)
    tree.user("lh_teacher", "Teacher", Role.INSTRUCTOR, teacher, None, pw)
    by_class: list[list[str]] = []
    for c in range(1, classes + 1):
        klass = tree.position(teacher, "class", f"Class {c}", None, join_code=f"HALL{c:03d}")
        tree.positions[-1]["class_id"] = klass
        for i in range(1, instructors + 1):
            name = f"lh_c{c}_i{i}"
            tree.user(name, f"Instructor {c}.{i}", Role.INSTRUCTOR, klass, klass, pw)
            roster.instructors.append(name)
            roster.class_of[name] = klass
        seat = 0
        names = []
        for s in range(1, per_class + 1):
            if (s - 1) % DEPARTMENT_SIZE == 0:
                dept = tree.position(klass, "department", f"Department {(s - 1) // DEPARTMENT_SIZE + 1}", klass)
                seat = tree.position(dept, "position", "Salesperson", klass)
            name = f"lh_c{c}_s{s}"
            tree.user(name, f"Student {c}.{s}", Role.STUDENT, seat, klass, pw)
            roster.class_of[name] = klass
            names.append(name)
        by_class.append(names)
    roster.students = [name for row in zip(*by_class, strict=True) for name in row]
    return tree, roster


def build_database(url: str, folder: Path, classes: int, per_class: int, instructors: int, say: Say) -> Roster:
    """Migrate, insert the roster, load a scenario into every class; returns the roster."""
    from sqlalchemy import select, text

    from bench.data import create_schema, insert_tree
    from sandbox import access
    from sandbox.classroom.runs.services import load_scenario
    from sandbox.extensions import db
    from sandbox.oplog import set_actor
    from sandbox.org.models import Position, User

    started = time.perf_counter()
    app = bench_app(url, folder / "uploads")
    create_schema(app)
    tree, roster = roster_tree(classes, per_class, instructors)
    with app.app_context():
        with db.engine.begin() as conn:
            insert_tree(conn, tree)
            if conn.dialect.name == "postgresql":  # ids were given: move the sequences past them
                for table in (Position.__tablename__, User.__tablename__):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
        for number, klass_id in enumerate(sorted({roster.class_of[s] for s in roster.students}), start=1):
            access.use_viewer(access.SYSTEM)
            set_actor(db.session.scalar(select(User).where(User.username == "lh_teacher")))
            klass = db.session.get(Position, klass_id)
            result = load_scenario(klass, SCENARIOS[(number - 1) % len(SCENARIOS)])
            db.session.commit()
            say(f"  class {number} of {classes}: {SCENARIOS[(number - 1) % len(SCENARIOS)]}, {result.rows:,} rows")
        db.session.remove()
        db.engine.dispose()
    say(f"database built in {time.perf_counter() - started:.0f} s: {classes} classes × {per_class} students, "
        f"{len(roster.instructors)} instructors")
    return roster


@contextmanager
def postgres(port: int, say: Say) -> Iterator[str]:
    """A private PostgreSQL cluster for the run (scripts/postgres.sh), stopped afterwards."""
    env = {**os.environ, "PGPORT_TEST": str(port or free_port())}
    root = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "start"], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()
    say(f"PostgreSQL started on port {env['PGPORT_TEST']} ({root})")
    try:
        # Through the cluster's Unix socket (its directory is `root`), as a database on the server's own machine
        # is best reached: a round trip costs both processes about a third less CPU than over TCP (docs/DEPLOY.md).
        yield f"postgresql+psycopg://app:app@/app?host={root}&port={env['PGPORT_TEST']}"
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop", root], check=False)
        say("PostgreSQL stopped")


# ---- the server --------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`sandbox serve --workers N` in its own process group; stopped at exit whatever happens."""

    def __init__(self, url: str, workers: int, threads: int, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "lecture-hall-secret", "UPLOAD_FOLDER": str(folder / "uploads"),
               # Every simulated student signs in from 127.0.0.1: the failed-sign-in throttle is raised for the run.
               "LOGIN_RATE_LIMIT": "100000 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "100000 per minute",
               "PYTHONUNBUFFERED": "1"}
        handle = self.log.open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "sandbox"), "serve", "--workers", str(workers), "--threads", str(threads), "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        self._wait()

    def _wait(self, timeout: float = 90) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:  # workers still importing the app
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s")

    def stop(self) -> None:
        """SIGTERM the whole group (gunicorn stops its workers), SIGKILL what is left after 15 s."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass


def _exit_on_signal(signum: int, _frame: Any) -> None:
    # Turns SIGTERM into SystemExit, so `finally` blocks and atexit stop the server and PostgreSQL.
    raise SystemExit(128 + signum)


def database_pid(app: Any) -> int:
    """The PostgreSQL server process (postmaster) behind the app's database when it runs on this machine, else 0.

    Its CPU shares the machine's cores with the workers: a capacity figure read from the workers' CPU alone would
    leave it out. Found from a backend of ours, whose parent is the postmaster.
    """
    from sqlalchemy import text

    from sandbox.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return 0
        with db.engine.connect() as conn:
            backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    try:
        import psutil  # a dependency of Locust

        parent = psutil.Process(backend).parent()
    except Exception:  # noqa: BLE001 - a server on another machine (or gone): not measured
        return 0
    return parent.pid if parent is not None and "postgres" in parent.name() else 0


# ---- Locust ------------------------------------------------------------------------------------------------------
def simulated_instructors(roster: Roster, students: int) -> list[str]:
    """Instructors in proportion to the students simulated (all of them with the whole roster), first one per class."""
    spread = sorted(roster.instructors, key=lambda name: (int(name.rsplit("_i", 1)[1]), roster.class_of[name]))
    return spread[:max(1, round(len(spread) * students / len(roster.students)))]


def run_hall(server: Server, roster: Roster, students: int, opts: Options, folder: Path, say: Say,
             database: int = 0) -> dict[str, Any]:
    """Run the Locust child over the first `students` students and every instructor; its result.json."""
    folder.mkdir(parents=True, exist_ok=True)
    instructors = simulated_instructors(roster, students)
    config = {
        "url": server.url, "server_pid": server.proc.pid, "database_pid": database, "out": str(folder),
        "password": PASSWORD, "think": opts.think,
        "students": students, "instructors": len(instructors),
        "student_accounts": roster.students[:students], "instructor_accounts": instructors,
        "spawn_rate": opts.spawn_rate, "ramp_limit": 60.0 + 2 * (students + len(roster.instructors)) / opts.spawn_rate,
        "warmup": opts.warmup if opts.warmup is not None else 1.5 * opts.think, "duration": opts.duration,
        "bare_seconds": opts.bare_seconds, "bare_users": opts.bare_users, "every_write_once": opts.quick,
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with (folder / "locust.log").open("w") as log:
        child = subprocess.Popen([sys.executable, "-m", "bench.lecture_hall_users", str(path)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        try:
            for line in child.stdout or ():
                say("  " + line.rstrip())
            child.wait()
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
    if child.returncode != 0:
        raise RuntimeError(f"the Locust run failed ({child.returncode}):\n{(folder / 'locust.log').read_text()[-3000:]}")
    return json.loads((folder / "result.json").read_text(encoding="utf-8"))


# ---- checks afterwards -------------------------------------------------------------------------------------------
VERBS = ("lead.create", "activity.log_call", "lead.convert", "opportunity.add_line", "opportunity.stage_change")


def _check_one(write: dict[str, Any], uid: int | None) -> tuple[str | None, tuple[str, int | None, int | None]]:
    """One write against the database: a problem (or None) and the log entry it needs (verb, object, actor)."""
    from sqlalchemy import select

    from sandbox.activities.models import Activity
    from sandbox.extensions import db
    from sandbox.leads.models import Lead
    from sandbox.opportunities.models import Opportunity

    kind, rid = write["kind"], write.get("id")
    if kind == "lead.create":
        lead = db.session.get(Lead, rid)
        ok = lead is not None and lead.name == write["name"] and lead.owner_id == uid
        return (None if ok else f"lead {rid} ({write['name']}) of {write['user']} is missing or changed"), (kind, rid, uid)
    if kind == "activity.log_call":
        call = db.session.scalar(select(Activity).where(Activity.subject == write["subject"]))
        ok = call is not None and call.related_type == "lead" and call.related_id == write["lead_id"] and call.owner_id == uid
        return (None if ok else f"call {write['subject']} on lead {write['lead_id']} is missing"), \
            (kind, call.id if call else None, uid)
    if kind == "lead.convert":
        lead = db.session.get(Lead, rid)
        ok = lead is not None and lead.converted_account_id is not None and (
            write.get("opportunity_id") is None or lead.converted_opportunity_id == write["opportunity_id"])
        return (None if ok else f"lead {rid} of {write['user']} is not converted"), (kind, rid, uid)
    if kind in ("opportunity.add_line", "opportunity.stage_change"):
        ok = db.session.get(Opportunity, rid) is not None
        return (None if ok else f"opportunity {rid} of {write['user']} is missing"), (kind, rid, uid)
    return f"unknown write {kind}", (kind, rid, uid)


def verify_writes(app: Any, writes: list[dict[str, Any]]) -> list[str]:
    """Every recorded write against the database: record, values, owner, and its log entry by its actor."""
    from sqlalchemy import func, select

    from sandbox import access
    from sandbox.extensions import db
    from sandbox.oplog import LogEntry
    from sandbox.opportunities.models import Opportunity
    from sandbox.opportunities.related_models import OpportunityLine
    from sandbox.org.models import User

    problems: list[str] = []
    with app.app_context():
        access.use_viewer(access.SYSTEM)
        names = sorted({w["user"] for w in writes})
        uid_of = {u.username: u.id for u in db.session.scalars(select(User).where(User.username.in_(names)))}
        actors = sorted(uid_of.values())
        logged = Counter(tuple(row) for row in db.session.execute(
            select(LogEntry.verb, LogEntry.object_id, LogEntry.actor_id)
            .where(LogEntry.verb.in_(VERBS), LogEntry.actor_id.in_(actors or [-1]))).all())
        needed: Counter[tuple[str, int | None, int | None]] = Counter()
        lines: Counter[tuple[int, int]] = Counter()
        last_stage: dict[int, str] = {}
        for write in sorted(writes, key=lambda w: w["at"]):
            problem, key = _check_one(write, uid_of.get(write["user"]))
            if problem:
                problems.append(problem)
            needed[key] += 1
            if write["kind"] == "opportunity.add_line":
                lines[(write["id"], write["product_id"])] += 1
            elif write["kind"] == "opportunity.stage_change":
                last_stage[write["id"]] = write["stage"]
        for (verb, object_id, actor), count in sorted(needed.items(), key=str):
            if logged[(verb, object_id, actor)] < count:
                problems.append(f"{count - logged[(verb, object_id, actor)]} of {count} {verb} entries on {object_id} "
                                f"by user {actor} are missing from the log")
        for (opp, product), count in lines.items():
            found = db.session.scalar(select(func.count()).select_from(OpportunityLine).where(
                OpportunityLine.opportunity_id == opp, OpportunityLine.product_id == product))
            if (found or 0) < count:
                problems.append(f"opportunity {opp}: {count} lines of product {product} added, {found} found")
        for opp, stage in last_stage.items():
            now = db.session.scalar(select(Opportunity.stage).where(Opportunity.id == opp))
            if now != stage:
                problems.append(f"opportunity {opp} was last moved to {stage} but stands at {now}")
        db.session.remove()
    return problems


def listed(client: Any, url: str, name: str) -> bool:
    """Whether a lead list searched for `name` shows it (only the result table counts: the search box repeats it)."""
    page = client.get(url + "/leads/", params={"q": name}, timeout=30).text
    rows = re.search(r'data-testid="record-table">(.*?)</table>', page, re.S)
    return bool(rows) and name in rows.group(1)


def verify_privacy(url: str, roster: Roster, writes: list[dict[str, Any]], samples: int) -> tuple[list[str], int]:
    """Sampled students open other students' new leads (404) and search for them (not listed); checks made."""
    import requests

    made: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for write in writes:
        if write["kind"] == "lead.create":
            made[write["user"]].append(write)
    authors = sorted(made)
    rng = random.Random(7)
    problems: list[str] = []
    checks = 0
    for viewer in rng.sample(authors, min(samples, len(authors))):
        others = [a for a in authors if a != viewer]
        same = [a for a in others if roster.class_of[a] == roster.class_of[viewer]]
        elsewhere = [a for a in others if roster.class_of[a] != roster.class_of[viewer]]
        picks = [rng.choice(group) for group in (same, elsewhere) if group]
        if not picks:
            continue
        client = requests.Session()
        page = client.get(url + "/auth/login", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        answer = client.post(url + "/auth/login", data={"username": viewer, "password": PASSWORD,
                                                        "csrf_token": token.group(1) if token else ""},
                             allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            problems.append(f"privacy check: {viewer} could not sign in ({answer.status_code})")
            continue
        own = made[viewer][0]
        if not listed(client, url, own["name"]):
            problems.append(f"privacy check: {viewer} does not find their own lead {own['name']} by search")
        for author in picks:
            theirs = made[author][0]
            status = client.get(f"{url}/leads/{theirs['id']}", allow_redirects=False, timeout=30).status_code
            checks += 2
            if status != 404:
                problems.append(f"{viewer} opened {author}'s lead {theirs['id']}: {status}, expected 404")
            if listed(client, url, theirs["name"]):
                problems.append(f"{viewer} found {author}'s lead {theirs['name']} by search")
    return problems, checks


# ---- the report --------------------------------------------------------------------------------------------------
@dataclass
class Verdict:
    """One run's figures and whether it passed."""

    students: int
    users: int
    rps: float
    p50: int
    p95: int
    p99: int
    requests: int
    errors: int
    bare_rps: float
    ratio: float
    writes: int
    write_problems: int
    privacy_checks: int
    privacy_problems: int
    ramp_seconds: float
    sign_in_p95: int
    load_average: float
    server_cpu_ms_per_request: float
    database_cpu_ms_per_request: float  # 0.0 when not measured (SQLite, a database on another machine)
    estimated_students: int
    passed: bool
    folder: str


HEADROOM = 0.6  # the share of the server's CPU a queue of sync workers can use while p95 stays low


def estimate(cpu_ms_per_request: float, rps_per_user: float, cores: float = 2.0) -> int:
    """Students the server's CPU (the workers' and a local database's) would hold on `cores` cores of its own (the
    load generator elsewhere).

    An estimate, not a measurement: CPU per request × requests per student per second, against
    HEADROOM of the cores. On a shared machine it says what the measured capacity cannot.
    """
    if cpu_ms_per_request <= 0 or rps_per_user <= 0:
        return 0
    return int(HEADROOM * cores * 1000 / (cpu_ms_per_request * rps_per_user))


def demand(rate: float, latency: float) -> float:
    """Requests per second one user would make if answers were instant.

    A simulated user alternates a think time T with a task of k requests each taking `latency` L, so its
    measured rate is r = k / (T + kL); with instant answers it is k / T = r / (1 - rL). On an overloaded
    server r falls because L grows; this undoes that, so the estimate does not flatter a slow run.
    """
    return rate / (1 - rate * latency) if 0 < rate * latency < 1 else rate


def verdict(students: int, result: dict[str, Any], problems: list[str], privacy: tuple[list[str], int],
            folder: Path) -> Verdict:
    """The pass/fail of a run: steady-state p95 under the limit, no failed request, every write checked."""
    total = result["steady"]["total"]
    bare = (result.get("bare") or {}).get("total", {}).get("rps", 0.0)
    sign_in = next((k for k in result["ramp"]["kinds"] if k["name"] == "POST /auth/login (sign-in)"), {"p95": 0})
    errors = total["failures"] + result["ramp"]["total"]["failures"]
    per_request = {name: round(1000 * result["steady"].get(f"{name}_cpu_seconds", 0.0) / total["count"], 2)
                   if total["count"] else 0.0 for name in ("server", "database")}
    cpu_ms = per_request["server"] + per_request["database"]  # both run on the machine's cores
    passed = (total["p95"] < P95_LIMIT_MS and errors == 0 and not problems and not privacy[0]
              and total["count"] > 0 and result["signed_in"] == result["users"])
    return Verdict(students, result["users"], total["rps"], total["p50"], total["p95"], total["p99"], total["count"],
                   errors, bare, round(total["rps"] / bare, 3) if bare else 0.0, len(result["writes"]), len(problems),
                   privacy[1], len(privacy[0]), result["ramp"]["seconds"], sign_in["p95"],
                   result["steady"].get("load_average", 0.0), per_request["server"], per_request["database"],
                   estimate(cpu_ms, demand(total["rps"] / result["users"] if result["users"] else 0.0,
                                           total["mean"] / 1000)), passed, str(folder))


def table(result: dict[str, Any], v: Verdict, problems: list[str], privacy: list[str]) -> str:
    """The printed report of one run."""
    steady = result["steady"]
    lines = [f"{'request kind':<44}{'count':>8}{'fail':>6}{'req/s':>8}{'p50':>6}{'p95':>6}{'p99':>6}  (ms)"]
    for k in [*(k for k in steady["kinds"] if k["count"]), steady["total"]]:
        name = "ALL (steady state)" if k is steady["total"] else k["name"]
        lines.append(f"{name[:43]:<44}{k['count']:>8}{k['failures']:>6}{k['rps']:>8.1f}{k['p50']:>6}{k['p95']:>6}{k['p99']:>6}")
    ramp = result["ramp"]["total"]
    lines += [
        "",
        f"ramp (reported apart): {result['signed_in']} of {result['users']} users signed in over {v.ramp_seconds:.0f} s, "
        f"{ramp['count']} requests, {ramp['failures']} failed, sign-in p95 {v.sign_in_p95} ms",
        f"steady state: {v.students} students + {v.users - v.students} instructors for {steady['seconds']:.0f} s: "
        f"{v.rps:.1f} req/s, p50 {v.p50} ms, p95 {v.p95} ms, p99 {v.p99} ms, {v.errors} errors "
        f"(machine load average {v.load_average} on {os.cpu_count()} cores)",
        f"bare page /healthz on the same server right after: {v.bare_rps:.1f} req/s → hall ÷ bare = {v.ratio:.3f}",
        f"CPU per request in the steady state: server {v.server_cpu_ms_per_request} ms"
        + (f" + database {v.database_cpu_ms_per_request} ms" if v.database_cpu_ms_per_request else "")
        + f" (load generator {result['steady'].get('client_cpu_seconds', 0)} s of CPU) → estimated "
        f"{v.estimated_students} users of this mix on 2 cores of its own at {HEADROOM:.0%} CPU (an estimate, not the verdict)",
        f"writes checked: {v.writes} ({v.write_problems} problems); privacy checks: {v.privacy_checks} "
        f"({v.privacy_problems} problems)",
    ]
    for error in steady["errors"][:10] + result["ramp"]["errors"][:5]:
        lines.append(f"  error: {error['method']} {error['name']}: {error['error']} × {error['count']}")
    lines += [f"  write: {p}" for p in problems[:10]] + [f"  privacy: {p}" for p in privacy[:10]]
    lines.append(f"verdict: {'PASS' if v.passed else 'FAIL'} (p95 < {P95_LIMIT_MS} ms, 0 errors, every write verified)"
                 f" · reports in {v.folder}")
    return "\n".join(lines)


def one_run(server: Server, app: Any, roster: Roster, students: int, opts: Options, base: Path, say: Say) -> Verdict:
    """Load, check, print and save one student count."""
    folder = base / f"{students}-students"
    say(f"— {students} students and their instructors, think {opts.think:g} s, "
        f"{opts.workers} workers ({opts.engine}) —")
    result = run_hall(server, roster, students, opts, folder, say, database_pid(app))
    problems = verify_writes(app, result["writes"])
    privacy = verify_privacy(server.url, roster, result["writes"], opts.privacy_samples)
    v = verdict(students, result, problems, privacy, folder)
    report = table(result, v, problems, privacy[0])
    say(report)
    (folder / "summary.txt").write_text(report + "\n", encoding="utf-8")
    (folder / "verdict.json").write_text(json.dumps(asdict(v), indent=1), encoding="utf-8")
    return v


def load_test(opts: Options, say: Say = print) -> list[Verdict]:
    """Build, serve, load (one count, or steps up to --students with --find-capacity), check; the verdicts."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = opts.out / f"{stamp}-{opts.engine}-{opts.workers}w"
    base.mkdir(parents=True, exist_ok=True)
    per_class = -(-opts.students // opts.classes)
    counts = (list(range(opts.start, opts.students + 1, opts.step)) or [opts.students]) if opts.find_capacity \
        else [opts.students]
    with tempfile.TemporaryDirectory(prefix="lecture-hall-") as tmp, database(opts, Path(tmp), say) as url:
        roster = build_database(url, Path(tmp), opts.classes, per_class, opts.instructors, say)
        app = bench_app(url, Path(tmp) / "uploads")
        server = Server(url, opts.workers, opts.threads, Path(tmp))
        say(f"server: sandbox serve --workers {opts.workers} --threads {opts.threads} on {server.url}")
        verdicts: list[Verdict] = []
        try:
            while counts:
                students = counts.pop(0)
                v = one_run(server, app, roster, students, opts, base, say)
                verdicts.append(v)
                if opts.find_capacity and not v.passed:
                    # The first count failed already: halve it (down to 10) so the search still finds a figure.
                    passed_any = any(x.passed for x in verdicts)
                    counts = [students // 2] if not passed_any and students // 2 >= MIN_STUDENTS else []
                time.sleep(min(opts.think, 5))  # the previous users' last requests drain
        finally:
            server.stop()
            (base / "server.log").write_text(server.log.read_text(errors="replace")[-200_000:], encoding="utf-8")
    if opts.find_capacity:
        passing = [v for v in verdicts if v.passed]
        best = max(passing, key=lambda v: v.students) if passing else None
        say(f"capacity ({opts.engine}, {opts.workers} workers, think {opts.think:g} s): "
            + (f"{best.students} students ({best.rps:.1f} req/s, p95 {best.p95} ms, ratio to bare {best.ratio:.3f})"
               if best else "no tested count passed"))
    (base / "verdicts.json").write_text(json.dumps([asdict(v) for v in verdicts], indent=1), encoding="utf-8")
    return verdicts


@contextmanager
def database(opts: Options, folder: Path, say: Say) -> Iterator[str]:
    """The run's database URL: a given one, a fresh PostgreSQL cluster, or a SQLite file in `folder`."""
    if opts.database_url:
        yield opts.database_url
    elif opts.engine == "postgresql":
        with postgres(opts.pg_port, say) as url:
            yield url
    else:
        yield f"sqlite:///{folder / 'hall.db'}"


QUICK = {"students": 6, "classes": 2, "instructors": 1, "think": 1.0, "duration": 5.0, "spawn_rate": 20.0,
         "warmup": 1.0, "bare_seconds": 2.0, "bare_users": 4, "privacy_samples": 3}


def parse(argv: list[str] | None = None) -> Options:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m bench.lecture_hall", description=__doc__.split("\n")[0])
    p.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument("--threads", type=int, default=1, help="threads per worker (more than 1: gthread workers)")
    p.add_argument("--students", type=int, help="simulated students (with --find-capacity: the most tried)")
    p.add_argument("--classes", type=int, help="classes the roster is spread over (default 10)")
    p.add_argument("--instructors", type=int, help="simulated instructors per class (default 2)")
    p.add_argument("--think", type=float, help="mean think time in seconds (waits are 0.5–1.5 × this; default 10)")
    p.add_argument("--duration", type=float, help="seconds of measured steady state (default 120)")
    p.add_argument("--spawn-rate", type=float, help="users signing in per second during the ramp (default 10)")
    p.add_argument("--warmup", type=float, help="seconds between the ramp and the measurement (default 1.5 × think)")
    p.add_argument("--bare-seconds", type=float, help="seconds of the bare-page phase (0: none; default 15)")
    p.add_argument("--find-capacity", action="store_true", help="step the students up until a step fails")
    p.add_argument("--start", type=int, help="first student count of --find-capacity (default 100)")
    p.add_argument("--step", type=int, help="step of --find-capacity (default 100)")
    p.add_argument("--database-url", help="use this (empty) database instead of building a private one")
    p.add_argument("--pg-port", type=int, default=0, help="port of the private PostgreSQL cluster (default: a free one)")
    p.add_argument("--out", type=Path, help="report folder (default test-artifacts/lecture-hall)")
    p.add_argument("--quick", action="store_true", help="a smoke run of seconds (6 students, 2 classes)")
    args = p.parse_args(argv)
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    for key in ("students", "classes", "instructors", "think", "duration", "spawn_rate", "warmup", "bare_seconds",
                "start", "step", "database_url", "out"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    for key in ("engine", "workers", "threads", "find_capacity", "pg_port", "quick"):
        values[key] = getattr(args, key)
    return Options(**values)


def main(argv: list[str] | None = None) -> int:
    """Run and exit 0 when the run (or some capacity step) passed."""
    def say(line: str) -> None:
        print(line, flush=True)

    verdicts = load_test(parse(argv), say)
    return 0 if any(v.passed for v in verdicts) else 1


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """`sandbox bench` part: a lecture hall of 100 students (none with --quick), hall req/s against the bare page.

    The figure is throughput at a fixed think time, so the ratio says how much of the server's ceiling the
    hall uses, not how fast pages are; the capacity itself is `python -m bench.lecture_hall --find-capacity`.
    """
    import importlib.util

    if quick:  # a server, a Locust run and the checks take a minute: `python -m bench.lecture_hall --quick` is the smoke
        return [], "lecture hall: left out of --quick (its smoke run is `python -m bench.lecture_hall --quick`)"
    if importlib.util.find_spec("locust") is None:
        return [], "lecture hall: skipped (Locust is installed by `scripts/install.sh --test`)"
    opts = parse(["--students", "100", "--workers", "4", "--duration", "60", "--bare-seconds", "10"])
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-hall-") as tmp:
        opts.out = Path(tmp)
        [v] = load_test(opts, lambda line: say(f"lecture hall: {line}"))
    name = f"lecture_hall.students_{v.students}"
    measure = measure_cls(name, v.rps, "req/s", v.bare_rps, v.ratio)
    text = "\n".join([
        f"lecture hall: {v.students} students + {v.users - v.students} instructors, think {opts.think:g} s, "
        f"{opts.workers} gunicorn workers, SQLite; ratio = hall req/s ÷ /healthz req/s on the same server",
        f"{'measure':<32}{'req/s':>9}{'bare':>9}{'ratio':>8}{'p95 ms':>8}{'errors':>8}  verdict",
        f"{name:<32}{v.rps:>9.1f}{v.bare_rps:>9.1f}{v.ratio:>8.3f}{v.p95:>8}{v.errors:>8}  "
        f"{'PASS' if v.passed else 'FAIL'} (writes {v.writes}, {v.write_problems} problems)",
    ])
    return [measure], text


if __name__ == "__main__":
    sys.exit(main())
