"""`sandbox bench`, knowledge part: the knowledge-base list of a student, with 20,000 articles in the class.

Data (its own SQLite file, Core executemany): one class of 30 students and its instructor; 20,000 articles,
three in four published, the others suggestions spread over the students (a student reads the published
ones and their own: the class rule plus the status rule). Measured through the test client and the whole
request (session, viewer, visibility, status rule, SQL, template):

* the student's list, first page (`GET /knowledge/`);
* the student's search in title, keywords and body (`GET /knowledge/?q=valve`).

Baseline, in the same run: the same page rendered from memory. The rows and total are read once through
the real query and kept as plain values; a bench-only route rebuilds unattached articles from them and
renders the same list template through the same views and request machinery, without the rows' query. The
ratio = baseline ms ÷ real ms (target ≥ 0.4, as the other lists) is what reading the page from the database
costs on top of rendering it, from the round with the median ratio.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.clock import utcnow
from sandbox.extensions import db
from sandbox.knowledge.models import Article
from sandbox.org.models import Role, User
from sandbox.records.extras import list_extras
from sandbox.records.views import views_of

from .data import PASSWORD, _Tree, create_schema, insert_tree
from .pages import sign_in

TARGET = 0.4
BASELINE = "/bench/knowledge-baseline"
WORDS = ["valve", "meter", "boiler", "invoice", "leak", "pressure", "contract", "pipe", "tariff", "hotline"]
Say = Callable[[str], None]


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'knowledge.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def _build(app: Flask, articles: int) -> int:
    """The class, its users and the articles; returns how many articles were written."""
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher_node = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher_node, "class", "Knowledge class", None)
    tree.positions[-1]["class_id"] = klass
    dept = tree.position(klass, "department", "Service", klass)
    seat = tree.position(dept, "position", "Agent", klass)
    teacher = tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher_node, None, pw)
    students = [tree.user(f"s{i:02d}", f"Student {i}", Role.STUDENT, seat, klass, pw) for i in range(30)]
    now = utcnow()
    rows = []
    for n in range(articles):
        published = n % 4 != 0
        owner = teacher if published and n % 3 == 0 else students[n % len(students)]
        word = WORDS[n % len(WORDS)]
        rows.append({"owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": now,
                     "updated_at": now, "deleted_at": None, "version": 1, "title": f"How to check the {word} #{n}",
                     "category": "faq", "keywords": f"{word}, service", "body": f"Check the **{word}** first. " * 20,
                     "status": "published" if published else "suggested", "published_at": now if published else None,
                     "published_by_id": teacher if published else None})
    with app.app_context():
        with db.engine.begin() as conn:
            insert_tree(conn, tree)
            for start in range(0, len(rows), 5000):
                conn.execute(insert(Article.__table__), rows[start:start + 5000])
        db.engine.dispose()
    return len(rows)


def _get(client: Any, url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.data[:200]!r}")
    return elapsed, response.data


COLUMNS = ("id", "title", "category", "keywords", "status", "published_at", "created_at", "owner_id", "class_id")


def _page_of(app: Flask, url: str, username: str) -> tuple[list[dict[str, Any]], int, dict[int, str]]:
    """The viewer's rows and total of the page, read once through the real views, kept as plain values."""
    with app.test_request_context(url):
        access.use_viewer(access.SYSTEM)
        user = db.session.scalar(select(User).where(User.username == username))
        access.use_viewer(access.viewer_for(user))
        v = views_of("knowledge")
        order, _sort = v.order(request.args)
        rows, total = v.page_of(v.conditions(request.args), order, 1)
        kept = [{c: getattr(r, c) for c in COLUMNS} for r in rows]
        owners = {r.owner_id: r.owner.display_name for r in rows}
        db.session.remove()
        return kept, total, owners


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Measure the student's knowledge list and search against the same page from memory."""
    articles, rounds, warmup = (4000, 5, 2) if quick else (20000, 25, 3)
    measures, lines = [], []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-knowledge-") as tmp:
        app = _app(Path(tmp))
        create_schema(app)
        say(f"knowledge: {articles:,} articles …")
        written = _build(app, articles)
        preloaded: dict[str, tuple[list[dict[str, Any]], int, dict[int, str]]] = {}

        def baseline() -> Any:
            """The same list page from rows in memory: unattached articles, the same views and template."""
            kept, total, owners = preloaded[request.args["key"]]
            rows = []
            for values in kept:
                article = Article(**{c: values[c] for c in COLUMNS})
                article.owner = User(id=values["owner_id"], display_name=owners[values["owner_id"]])
                rows.append(article)
            v = views_of("knowledge")
            return v.render("records/list.html", rows=rows, total=total, page=1, sort="-created_at",
                            **list_extras(Article))

        app.add_url_rule(BASELINE, "bench_knowledge_baseline", baseline)  # bench-only, never in the served app
        for key, query in (("list", ""), ("search", "?q=valve")):
            client = sign_in(app, "s01")
            url = f"/knowledge/{query}"
            preloaded[key] = _page_of(app, url, "s01")
            real_body = _get(client, url)[1]
            base_body = _get(client, f"{BASELINE}{query or '?'}{'&' if query else ''}key={key}")[1]
            shown = preloaded[key][1]
            # The same records linked in the same order (the pager and sort links name the bench's own route).
            links = re.compile(rb'href="/knowledge/(\d+)"')
            if len(links.findall(real_body)) < 10 or links.findall(base_body) != links.findall(real_body):
                raise RuntimeError("the baseline does not render the same rows")
            pairs = []
            for i in range(warmup + rounds):
                pair = (_get(client, url)[0], _get(client, f"{BASELINE}{query or '?'}{'&' if query else ''}key={key}")[0])
                if i >= warmup:
                    pairs.append(pair)
            real_ms, base_ms = sorted(pairs, key=lambda p: p[1] / p[0])[len(pairs) // 2]
            ratio = base_ms / real_ms
            measure = measure_cls(f"knowledge.student_{key}", round(real_ms, 2), "ms", round(base_ms, 2),
                                  round(ratio, 3))
            measures.append(measure)
            verdict = "ok" if ratio >= TARGET else "BELOW"
            lines.append(f"{measure.name:<28}{shown:>8,}{real_ms:>10.2f}{base_ms:>12.2f}{ratio:>8.2f}  {verdict}")
            say(f"knowledge: {key}: {shown} visible, {real_ms:.2f} ms vs {base_ms:.2f} ms from memory")
        with app.app_context():
            db.engine.dispose()
    table = "\n".join([
        f"knowledge base list of a student (GET /knowledge/), {written:,} articles in the class, the round with the "
        f"median ratio of {rounds}",
        "baseline = the same list template rendered by the same views from rows kept in memory",
        "",
        f"{'measure':<28}{'visible':>8}{'ms':>10}{'memory ms':>12}{'ratio':>8}  target ≥ {TARGET}",
        *lines,
    ])
    return measures, table


if __name__ == "__main__":  # `python -m bench.knowledge [--quick]`: this part alone, table then JSON lines
    import sys

    from .runner import Measure

    found, printed = run(Measure, "--quick" in sys.argv, lambda msg: print(msg, file=sys.stderr))
    print(printed)
    for item in found:
        print(item.as_json())
