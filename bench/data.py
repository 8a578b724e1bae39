"""Bulk data for the benchmark: a migrated SQLite database with a position tree, users and leads."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from flask import Flask
from sqlalchemy import Connection, insert
from werkzeug.security import generate_password_hash

from sandbox.clock import utcnow
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.org.models import Organization, Position, PositionKind, Role, Status, User

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
PASSWORD = "bench-Password-1"
BATCH = 50_000
# Picklist fields of the lead (filled when the model has them) and codes from the default code tables.
OPTIONAL_CODES: dict[str, list[str]] = {
    "source": ["web", "phone", "referral", "trade_show", "campaign", "partner", "advertisement", "other"],
    "industry": ["manufacturing", "retail", "it", "finance", "education", "healthcare", "logistics", "food"],
    "rating": ["hot", "warm", "cold"],
}
STATUSES = ["new", "contacted", "qualified", "unqualified"]
STATUS_WEIGHTS = [50, 25, 15, 10]


@dataclass(frozen=True)
class Size:
    """How big the benchmark database is."""

    classes: int = 4
    departments: int = 16
    students_per_department: int = 20
    leads: int = 400_000
    # Leads are spread over this many days before now, denser towards now.
    days: int = 540
    deleted_share: float = 0.02


FULL = Size()
QUICK = Size(departments=4, leads=20_000)


@dataclass
class Built:
    """What the runner needs to know about the generated data."""

    usernames: dict[str, str] = field(default_factory=dict)
    users: int = 0
    positions: int = 0
    leads: int = 0
    seconds: float = 0.0


Progress = Callable[[str], None]


def create_schema(app: Flask) -> None:
    """Build the schema with the real migrations (as `sandbox init-db` does)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()


@contextmanager
def bulk_connection() -> Iterator[Connection]:
    """A connection set for bulk loading (inside an app context): nothing a benchmark builds must survive a crash."""
    with db.engine.connect() as conn:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "foreign_keys=OFF"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        conn.commit()
        yield conn


def insert_tree(conn: Connection, tree: _Tree) -> None:
    """The organisation, the positions and the users of a built tree, in bulk."""
    conn.execute(insert(Organization.__table__), [{"name": "Bench School"}])
    conn.execute(insert(Position.__table__), tree.positions)
    conn.execute(insert(User.__table__), tree.users)


class _Tree:
    """Positions and users with ids assigned here, so paths are known before inserting."""

    def __init__(self) -> None:
        self.positions: list[dict[str, Any]] = []
        self.users: list[dict[str, Any]] = []
        self.paths: dict[int, str] = {}

    def position(self, parent: int | None, kind: str, name: str, class_id: int | None, **extra: Any) -> int:
        pid = len(self.positions) + 1
        path = (self.paths[parent] if parent else "/") + f"{pid}/"
        self.paths[pid] = path
        self.positions.append({
            "id": pid, "parent_id": parent, "kind": kind, "name": name, "path": path, "class_id": class_id,
            "join_code": extra.get("join_code"), "registration_open": extra.get("registration_open", False),
            "sort_order": len(self.positions), "created_at": utcnow(),
        })
        return pid

    def user(self, username: str, name: str, role: str, position: int, class_id: int | None, pw: str) -> int:
        uid = len(self.users) + 1
        self.users.append({
            "id": uid, "username": username, "display_name": name, "student_number": None,
            "email": f"{username}@bench.example.cn", "password_hash": pw, "role": role,
            "status": Status.ACTIVE, "position_id": position, "class_id": class_id,
            "must_change_password": False, "session_version": 1, "created_at": utcnow(),
        })
        return uid


def _tree(size: Size, fake: Faker) -> tuple[_Tree, dict[int, list[int]], dict[str, str]]:
    """org > teacher > classes > departments > one salesperson position each (as the class wizard)."""
    tree = _Tree()
    # One hash for everyone: hashing thousands of passwords would dominate the load time.
    pw = generate_password_hash(PASSWORD)
    root = tree.position(None, PositionKind.ORGANIZATION, "Bench School", None)
    teacher = tree.position(root, PositionKind.TEACHER, "Teacher Li", None)
    tree.user("admin", "Admin", Role.ADMIN, root, None, pw)
    tree.user("teacher", "Teacher Li", Role.INSTRUCTOR, teacher, None, pw)
    owners: dict[int, list[int]] = {}
    for c in range(1, size.classes + 1):
        klass = tree.position(teacher, PositionKind.CLASS, f"Class {c}", None, join_code=f"BENCH{c}")
        tree.positions[-1]["class_id"] = klass
        tree.user(f"instructor{c}", fake.name(), Role.INSTRUCTOR, klass, klass, pw)
        owners[klass] = []
        for d in range(1, size.departments + 1):
            dept = tree.position(klass, PositionKind.DEPARTMENT, f"Department {d}", klass)
            sales = tree.position(dept, PositionKind.POSITION, "Salesperson", klass)
            owners[klass].append(tree.user(f"manager{c}_{d}", fake.name(), Role.STUDENT, dept, klass, pw))
            for s in range(1, size.students_per_department + 1):
                owners[klass].append(tree.user(f"student{c}_{d}_{s}", fake.name(), Role.STUDENT, sales, klass, pw))
    # The teacher sits above every class: the shape "class_id IN (...) OR (class_id IS NULL AND ...)".
    viewers = {"student": "student1_1_1", "manager": "manager1_1", "instructor": "instructor1", "teacher": "teacher"}
    return tree, owners, viewers


def _lead_rows(size: Size, owners: dict[int, list[int]], fake: Faker, rng: random.Random) -> Iterator[list[dict]]:
    """Batches of lead rows in creation order (ids grow with time, as in real use)."""
    columns = set(Lead.__table__.c.keys())
    optional = {k: v for k, v in OPTIONAL_CODES.items() if k in columns}
    names = [fake.name() for _ in range(2000)]
    companies = [fake.company() for _ in range(1000)]
    titles = [fake.job() for _ in range(200)]
    domains = [fake.domain_name() for _ in range(300)]
    now = utcnow()
    span = size.days * 86_400
    # Squaring the uniform draw makes recent days denser, like a class that keeps working.
    ages = sorted((rng.random() ** 2 * span for _ in range(size.leads)), reverse=True)
    classes = list(owners)
    batch: list[dict] = []
    for i, age in enumerate(ages):
        klass = classes[i % len(classes)]
        owner = rng.choice(owners[klass])
        created = now - timedelta(seconds=age)
        deleted = created + timedelta(days=rng.random() * 30) if rng.random() < size.deleted_share else None
        row = {
            "owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": created,
            "updated_at": created, "deleted_at": min(deleted, now) if deleted else None, "version": 1,
            "name": rng.choice(names), "company": rng.choice(companies), "title": rng.choice(titles),
            "email": f"lead{i}@{rng.choice(domains)}", "phone": f"1{rng.randint(30, 99)}{rng.randint(0, 10**8 - 1):08d}",
            "status": rng.choices(STATUSES, STATUS_WEIGHTS)[0],
        }
        for name, codes in optional.items():
            row[name] = rng.choice(codes)
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(app: Flask, size: Size, seed: int = 20240901, progress: Progress | None = None) -> Built:
    """Fill the migrated database of `app` with the benchmark data, then ANALYZE it."""
    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    tree, owners, viewers = _tree(size, fake)
    built = Built(usernames=viewers, users=len(tree.users), positions=len(tree.positions))
    with app.app_context():
        with bulk_connection() as conn:
            with conn.begin():
                insert_tree(conn, tree)
                for batch in _lead_rows(size, owners, fake, rng):
                    conn.execute(insert(Lead.__table__), batch)
                    built.leads += len(batch)
                    say(f"leads: {built.leads:,} / {size.leads:,}")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        # New connections get the app's own pragmas (WAL, synchronous=NORMAL) again.
        db.engine.dispose()
    built.seconds = time.perf_counter() - start
    return built
