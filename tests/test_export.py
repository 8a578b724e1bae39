"""Export of exactly the filtered list (CSV and XLSX), escaped against formula injection; list filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response) -> list[list[object]]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def listed_ids(client, query: str) -> list[int]:
    """Record ids in the order the list page shows them."""
    page = client.get(f"/leads/?{query}").get_data(as_text=True)
    table = page.split('data-testid="record-table"', 1)[1]
    return [int(i) for i in re.findall(r'href="/leads/(\d+)"', table)]


@pytest.fixture
def leads(classroom, make_lead):
    a, peer, b = classroom.user("studentA"), classroom.user("peerA"), classroom.user("studentB")
    made = [
        make_lead(a, name="Alpha Tea", company="Hangzhou Tea", status="new", source="web"),
        make_lead(a, name="Beta Steel", company="Baosteel", status="contacted", source="web"),
        make_lead(a, name="Gamma Tea", company="Tea House", status="contacted", source="trade_show"),
        make_lead(a, name="Delta", company="Delta Ltd", status="qualified"),
        make_lead(peer, name="Peer Tea", company="Peer Co", status="contacted"),
        make_lead(b, name="Class B Tea", company="B Co", status="contacted"),
    ]
    return made


@pytest.mark.parametrize("query", ["", "status=contacted", "q=tea", "q=tea&status=contacted&sort=name",
                                   "source=web&sort=-name", "owner=me&q=a"])
def test_export_equals_the_filtered_list(app, classroom, leads, query):
    client = classroom.client_for(app, "studentA")
    expected = listed_ids(client, query)
    assert all(i in {lead.id for lead in leads[:4]} for i in expected)  # never peerA's or class B's
    rows = read_csv(client.post(f"/leads/export.csv?{query}"))
    assert [int(r[0]) for r in rows[1:]] == expected
    sheet = read_xlsx(client.post(f"/leads/export.xlsx?{query}"))
    assert [int(r[0]) for r in sheet[1:]] == expected


def test_manager_export_covers_subordinates_not_other_classes(app, classroom, leads):
    rows = read_csv(classroom.client_for(app, "managerA").post("/leads/export.csv?status=contacted"))
    names = {r[1] for r in rows[1:]}
    assert names == {"Beta Steel", "Gamma Tea", "Peer Tea"}


def test_chinese_headers_and_labels(app, classroom, leads):
    client = classroom.client_for(app, "studentA")
    rows = read_csv(client.post("/leads/export.csv?lang=zh_Hans_CN&q=Alpha"))
    header, row = rows[0], rows[1]
    for label in ("ID", "名称", "公司", "状态", "所有人", "创建时间"):
        assert label in header, label
    assert row[header.index("状态")] == "新线索"  # the code table's Chinese label, not the code "new"
    assert row[header.index("来源") if "来源" in header else header.index("线索来源")] in ("网站", "web")
    sheet = read_xlsx(client.post("/leads/export.xlsx?lang=en&q=Alpha"))
    assert sheet[0][:3] == ["ID", "Name", "Company"] and "Owner" in sheet[0]
    assert sheet[1][sheet[0].index("Status")] == "New"
    assert isinstance(sheet[1][sheet[0].index("Created")], datetime)


def test_formula_injection_is_escaped(app, classroom, make_lead):
    dangerous = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-3+4", "@SUM(A1)", "\tTab", "\rCR"]
    for i, text in enumerate(dangerous):
        make_lead(classroom.user("studentA"), name=f"Lead {i}", company=text, description=text)
    client = classroom.client_for(app, "studentA")
    rows = read_csv(client.post("/leads/export.csv?lang=en&sort=name"))
    header = rows[0]
    companies = [r[header.index("Company")] for r in rows[1:]]
    assert companies == ["'" + t for t in dangerous]
    sheet = read_xlsx(client.post("/leads/export.xlsx?lang=en&sort=name"))
    companies = [r[sheet[0].index("Company")] for r in sheet[1:]]
    assert [c.replace("\n", "\r") for c in companies] == ["'" + t for t in dangerous]  # XML reads CR as LF
    workbook = load_workbook(io.BytesIO(client.post("/leads/export.xlsx?sort=name").data))
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)


def test_export_is_logged_with_its_count(app, classroom, leads):
    client = classroom.client_for(app, "studentA")
    client.post("/leads/export.csv?status=contacted")
    client.post("/leads/export.xlsx")
    entries = db.session.scalars(select(LogEntry).where(LogEntry.verb == "lead.export").order_by(LogEntry.id)).all()
    assert [(e.params["count"], e.params["format"]) for e in entries] == [(2, "csv"), (4, "xlsx")]
    assert entries[0].actor_id == classroom.user("studentA").id and entries[0].object_type == "lead"
    assert entries[0].class_id == classroom.user("studentA").class_id


def test_readonly_and_anonymous_exports(app, classroom, leads):
    assert len(read_csv(classroom.client_for(app, "readonlyA").post("/leads/export.csv"))) == 1 + 5
    anonymous = app.test_client().post("/leads/export.csv")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_owner_filter_lists_visible_owners_only(app, classroom, leads):
    manager = classroom.client_for(app, "managerA")
    page = manager.get("/leads/?lang=en").get_data(as_text=True)
    peer_id, b_id = classroom.user("peerA").id, classroom.user("studentB").id
    assert f'<option value="{peer_id}"' in page and f'<option value="{b_id}"' not in page
    assert set(listed_ids(manager, f"owner={peer_id}")) == {leads[4].id}
    student = classroom.client_for(app, "studentA")
    page = student.get("/leads/").get_data(as_text=True)
    assert f'<option value="{peer_id}"' not in page  # private sharing: peerA's leads are not visible to studentA
    assert listed_ids(student, f"owner={peer_id}") == []
    assert listed_ids(student, f"owner={b_id}") == []


def test_created_date_range_and_bad_dates(app, classroom, leads):
    # Core UPDATE: back-date two leads without an operation (test setup, not a user change).
    db.session.execute(update(Lead).where(Lead.id.in_([leads[0].id, leads[1].id]))
                       .values(created_at=datetime(2025, 3, 10, 1, 0)).execution_options(synchronize_session=False))
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    assert set(listed_ids(client, "created_to=2025-03-10")) == {leads[0].id, leads[1].id}
    assert set(listed_ids(client, "created_from=2025-03-11")) == {leads[2].id, leads[3].id}
    # 2025-03-10 01:00 UTC is 09:00 in Shanghai: inside that local day, outside the day before.
    assert listed_ids(client, "created_from=2025-03-09&created_to=2025-03-09") == []
    rows = read_csv(client.post("/leads/export.csv?created_to=2025-03-10"))
    assert {int(r[0]) for r in rows[1:]} == {leads[0].id, leads[1].id}
    response = client.get("/leads/?lang=en&created_from=10/03/2025&created_to=tomorrow")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Dates are written YYYY-MM-DD; “10/03/2025” was ignored." in page
    assert "“tomorrow” was ignored" in page
    assert len(listed_ids(client, "created_from=10/03/2025")) == 4
    assert client.get("/leads/?owner=nobody&created_from=2025-99-01").status_code == 200


def test_a_types_own_display_is_exported(app, classroom):
    """Products show their class by name and Active as Yes/No: the export says the same."""
    from sandbox.products.models import Product
    from sandbox.products.services import create_product
    from tests.conftest import act_as

    act_as(classroom.user("teacher"))
    create_product(Product, {"name": "Notebook", "code": "NB-1", "list_price": 10, "active": True,
                             "class_id": classroom.classes["A"].id})
    db.session.commit()
    act_as(None)
    sheet = read_xlsx(classroom.client_for(app, "studentA").post("/products/export.xlsx?lang=en"))
    row = dict(zip(sheet[0], sheet[1], strict=True))
    assert (row["Class"], row["Product code"], row["List price"]) == ("Class A", "NB-1", 10)
    assert str(row[next(h for h in sheet[0] if h.startswith("Active"))]) == "Yes"
