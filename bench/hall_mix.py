"""The lecture hall's request mix in process: the CPU each kind of page costs, without a server or a load generator.

The hall (`bench/lecture_hall.py`) gives the verdict, but on a 2-core machine it shares the cores with Locust, and
near its capacity its figures move with the machine's load from one run to the next. This drives the same kinds
of page through the test client: each student a few requests in a random order. With few requests per student
that is the cold case: a class's first minutes or a fresh worker, which keeps nothing of its users yet (the
hall's steady state keeps most of it; a higher `--requests-per-student` warms it). It reads this process's CPU
time around each request, and a local PostgreSQL's over the whole run. To compare two versions of the code, run
it from two checkouts in turns (the figures move with the machine's load too, so only the median of interleaved
runs means anything).

    python -m bench.hall_mix --engine sqlite --students 400
    python -m bench.hall_mix --engine postgresql --students 400 --requests-per-student 3
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lecture_hall import PASSWORD, bench_app, build_database, database_pid, postgres
from .lecture_hall_users import cpu_by_process, cpu_spent, ids

Say = Callable[[str], None]
LISTS = {"leads": "/leads/", "accounts": "/accounts/", "opportunities": "/opportunities/"}
# Weights as in the hall's student (bench/lecture_hall_users.py), writes reduced to creating a lead.
MIX = (("dashboard", 10), ("list", 16), ("record", 14), ("progress", 4), ("cases", 3), ("new lead", 3),
       ("create lead", 3))
GRADEBOOK_EVERY = 60  # an instructor's gradebook among this many student requests


@dataclass
class Result:
    """CPU milliseconds per request, by kind and in all, and what the record rule built."""

    requests: int = 0
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    database_ms_per_request: float = 0.0
    rule_sets_built: int = 0

    @property
    def ms_per_request(self) -> float:
        """Mean CPU of a request of the mix in this process."""
        return sum(sum(v) for v in self.cpu_ms.values()) / max(1, self.requests)

    def table(self) -> str:
        """The figures as printed."""
        lines = [f"{'request kind':<14}{'count':>7}{'CPU ms':>9}"]
        for kind, values in sorted(self.cpu_ms.items(), key=lambda kv: -sum(kv[1])):
            lines.append(f"{kind:<14}{len(values):>7}{sum(values) / len(values):>9.2f}")
        lines.append(f"{'ALL':<14}{self.requests:>7}{self.ms_per_request:>9.2f}")
        if self.database_ms_per_request:
            lines.append(f"database server: {self.database_ms_per_request:.2f} ms of CPU per request")
        lines.append(f"record-rule option sets built: {self.rule_sets_built}")
        return "\n".join(lines)


class _Student:
    def __init__(self, app: Any, name: str, rng: random.Random) -> None:
        self.name, self.rng, self.known = name, rng, {}
        self.client = app.test_client()
        answer = self.client.post("/auth/login", data={"username": name, "password": PASSWORD})
        if answer.status_code != 302:
            raise RuntimeError(f"{name} could not sign in ({answer.status_code})")

    def get(self, url: str) -> str:
        answer = self.client.get(url)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url} as {self.name} answered {answer.status_code}")
        return answer.get_data(as_text=True)

    def step(self, kind: str) -> None:
        if kind == "dashboard":
            self.get("/")
        elif kind == "list":
            name = self.rng.choice(list(LISTS))
            html = self.get(LISTS[name] + self.rng.choice(["", "?q=a", "?page=2"]))
            self.known[name] = ids(html, LISTS[name])
        elif kind == "record":
            name = self.rng.choice(list(LISTS))
            if name not in self.known:
                self.known[name] = ids(self.get(LISTS[name]), LISTS[name])
            if self.known[name]:
                self.get(f"{LISTS[name]}{self.rng.choice(self.known[name])}")
        elif kind == "progress":
            self.get("/me/progress")
        elif kind == "cases":
            self.get("/cases/")
        elif kind == "new lead":
            self.get("/leads/new")
        else:
            answer = self.client.post("/leads/new", data={
                "name": f"Mix {self.name} {self.rng.random():.6f}", "company": "Mix Co", "status": "new", "version": ""})
            if answer.status_code != 302:
                raise RuntimeError(f"creating a lead as {self.name} answered {answer.status_code}")


def run_mix(url: str, folder: Path, students: int, per_student: int, seed: int, say: Say) -> Result:
    """Build the hall's school in `url`, sign in `students`, run the mix; the CPU it cost."""
    from sandbox import access

    classes = max(1, (students + 39) // 40)
    roster = build_database(url, folder, classes, 40, 2, say)
    app = bench_app(url, folder / "uploads")
    rng = random.Random(seed)
    people = [_Student(app, name, rng) for name in roster.students[:students]]
    teachers = [_Student(app, name, rng) for name in roster.instructors[:4]]
    for person in people[:10]:  # compiled statements and templates, as a worker has them after its first pages
        for kind, _weight in MIX:
            person.step(kind)
    access._options_for.cache_clear()
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    plan = [(person, rng.choice(kinds)) for person in people for _ in range(per_student)]
    rng.shuffle(plan)
    result = Result()
    database = database_pid(app)
    before = cpu_by_process(database)
    for i, (person, kind) in enumerate(plan):
        if i % GRADEBOOK_EVERY == 0:
            teacher = teachers[(i // GRADEBOOK_EVERY) % len(teachers)]
            start = time.process_time()
            teacher.get("/grading/")
            result.cpu_ms.setdefault("gradebook", []).append(1000 * (time.process_time() - start))
            result.requests += 1
        start = time.process_time()
        person.step(kind)
        result.cpu_ms.setdefault(kind, []).append(1000 * (time.process_time() - start))
        result.requests += 1
    result.database_ms_per_request = 1000 * cpu_spent(before, database) / result.requests
    result.rule_sets_built = access._options_for.cache_info().misses
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: build, run, print."""
    p = argparse.ArgumentParser(prog="python -m bench.hall_mix", description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--students", type=int, default=400, help="students signed in (default 400)")
    p.add_argument("--requests-per-student", type=int, default=3, help="requests of each student (default 3)")
    p.add_argument("--seed", type=int, default=7)
    opts = p.parse_args(argv)
    if opts.students < 1 or opts.requests_per_student < 1:
        p.error("--students and --requests-per-student must be at least 1")
    with tempfile.TemporaryDirectory(prefix="hall-mix-") as tmp:
        folder = Path(tmp)
        if opts.engine == "postgresql":
            with postgres(0, print) as url:
                result = run_mix(url, folder, opts.students, opts.requests_per_student, opts.seed, print)
        else:
            result = run_mix(f"sqlite:///{folder / 'hall.db'}", folder, opts.students, opts.requests_per_student,
                             opts.seed, print)
    print(result.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
