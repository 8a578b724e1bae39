"""`sandbox demo`: a teacher, two classes with departments, a manager and students each, Sales basics loaded."""

from __future__ import annotations

from faker import Faker
from sqlalchemy import select

from . import access
from .auth.passwords import generate_password, password_problem
from .classroom.runs.services import load_scenario
from .extensions import db
from .oplog import set_actor
from .org.models import Position, PositionKind, Role, User
from .org.services import class_wizard, create_position, create_user

# (class, join code, departments, username prefix, scenario): the first class practises selling, the second
# runs the service desk, so a demo shows both the sales and the service flows.
CLASSES = [
    ("市场营销2026级1班", "MKT261", ["销售一部", "销售二部", "销售三部"], "a", "sales-basics"),
    ("市场营销2026级2班", "MKT262", ["华东销售部", "华南销售部", "华北销售部"], "b", "service-desk"),
]
STUDENTS_PER_CLASS = 6


def demo_usernames() -> list[str]:
    """Every account the demo makes."""
    names = ["admin", "teacher"]
    for _name, _code, _departments, prefix, _scenario in CLASSES:
        names += [f"{prefix}_manager", *(f"{prefix}_s{i + 1:02d}" for i in range(STUDENTS_PER_CLASS)), f"{prefix}_observer"]
    return names


def build_demo(password: str | None) -> list[tuple[str, ...]]:
    """Create the demo classroom; returns (username, role, class, position, password) rows.

    A shared `password` follows the same policy as every other password (ValueError says why not)."""
    if password is not None:
        for username in demo_usernames():
            problem = password_problem(password, username)
            if problem:
                raise ValueError(f"--password: {problem}")
    fake = Faker("zh_CN")
    fake.seed_instance(2026)
    rows: list[tuple[str, ...]] = []

    def account(username: str, name: str, role: str, position: Position, klass: str) -> User:
        pw = password or generate_password()
        user = create_user(None, username, name, pw, role, position, email=f"{username}@demo.school.cn")
        rows.append((username, role, klass, position.path_label, pw))
        return user

    root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
    if root is None:
        raise ValueError("run `sandbox init-db` first")
    account("admin", "系统管理员", Role.ADMIN, root, "-")
    teacher_node = create_position(None, root, PositionKind.TEACHER, "张老师教研室")
    teacher = account("teacher", "张老师", Role.INSTRUCTOR, teacher_node, "-")
    classes: list[tuple[Position, str]] = []
    for class_name, code, departments, prefix, scenario in CLASSES:
        klass = class_wizard(None, teacher_node, class_name, departments, code, True, "销售代表")
        classes.append((klass, scenario))
        db.session.flush()
        depts = list(db.session.scalars(
            select(Position).where(Position.parent_id == klass.id).order_by(Position.id)))
        salespeople = [
            db.session.scalar(select(Position).where(Position.parent_id == d.id)) for d in depts
        ]
        account(f"{prefix}_manager", fake.name(), Role.STUDENT, depts[0], class_name)
        for i in range(STUDENTS_PER_CLASS):
            position = salespeople[i % len(salespeople)]
            account(f"{prefix}_s{i + 1:02d}", fake.name(), Role.STUDENT, position, class_name)
        account(f"{prefix}_observer", fake.name(), Role.READONLY, klass, class_name)
    # Each class gets its scenario, loaded by its teacher as from /scenarios/.
    set_actor(teacher)
    with access.viewing_as(access.viewer_for(teacher)):
        for klass, scenario in classes:
            load_scenario(klass, scenario)
    set_actor(None)
    return rows
