"""`sandbox demo`: a teacher, two classes with departments, a manager and students each, and leads."""

from __future__ import annotations

import random

from faker import Faker
from sqlalchemy import select

from . import access
from .auth.passwords import generate_password
from .extensions import db
from .oplog import set_actor
from .org.models import Position, PositionKind, Role, User
from .org.services import class_wizard, create_position, create_user
from .records.services import create_record

CLASSES = [
    ("市场营销2026级1班", "MKT261", ["销售一部", "销售二部", "销售三部"], "a"),
    ("市场营销2026级2班", "MKT262", ["华东销售部", "华南销售部", "华北销售部"], "b"),
]
STUDENTS_PER_CLASS = 6
LEADS_PER_STUDENT = 8


def build_demo(password: str | None) -> list[tuple[str, ...]]:
    """Create the demo classroom; returns (username, role, class, position, password) rows."""
    fake = Faker("zh_CN")
    fake.seed_instance(2026)
    rng = random.Random(2026)
    rows: list[tuple[str, ...]] = []

    def account(username: str, name: str, role: str, position: Position, klass: str) -> User:
        pw = password or generate_password()
        user = create_user(None, username, name, pw, role, position, email=f"{username}@demo.school.cn")
        rows.append((username, role, klass, position.name, pw))
        return user

    root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
    if root is None:
        raise ValueError("run `sandbox init-db` first")
    account("admin", "系统管理员", Role.ADMIN, root, "-")
    teacher_node = create_position(None, root, PositionKind.TEACHER, "张老师教研室")
    account("teacher", "张老师", Role.INSTRUCTOR, teacher_node, "-")
    students: list[User] = []
    for class_name, code, departments, prefix in CLASSES:
        klass = class_wizard(None, teacher_node, class_name, departments, code, True, "销售代表")
        db.session.flush()
        depts = list(db.session.scalars(
            select(Position).where(Position.parent_id == klass.id).order_by(Position.id)))
        salespeople = [
            db.session.scalar(select(Position).where(Position.parent_id == d.id)) for d in depts
        ]
        account(f"{prefix}_manager", fake.name(), Role.STUDENT, depts[0], class_name)
        for i in range(STUDENTS_PER_CLASS):
            position = salespeople[i % len(salespeople)]
            students.append(account(f"{prefix}_s{i + 1:02d}", fake.name(), Role.STUDENT, position, class_name))
        account(f"{prefix}_observer", fake.name(), Role.READONLY, klass, class_name)
    statuses = ["new", "contacted", "qualified", "unqualified"]
    for student in students:
        # Leads are created by each student through the same service as the web form.
        set_actor(student)
        with access.viewing_as(access.viewer_for(student)):
            for _n in range(LEADS_PER_STUDENT):
                create_record_for(student, fake, rng, statuses)
    set_actor(None)
    return rows


def create_record_for(student: User, fake: Faker, rng: random.Random, statuses: list[str]) -> None:
    from .leads.models import Lead

    create_record(Lead, {
        "name": fake.name(),
        "company": fake.company(),
        "title": rng.choice(["采购经理", "总经理", "IT主管", "财务总监", "行政主管"]),
        "email": fake.email(),
        "phone": fake.phone_number(),
        "status": rng.choice(statuses),
        "source": rng.choice(["web", "phone", "referral", "trade_show", "campaign"]),
        "rating": rng.choice(["hot", "warm", "cold"]),
        "industry": rng.choice(["manufacturing", "retail", "it", "food", "logistics"]),
        "address": fake.address(),
    })
