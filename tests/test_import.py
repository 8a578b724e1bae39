"""CSV import: encodings, refusals of whole files, per-row errors in both modes, duplicates, 10,000 rows, CLI."""

from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from tests.conftest import act_as


def post(client, data: bytes, name: str = "leads.csv", mode: str = "all"):
    return client.post("/leads/import?lang=en", data={"file": (io.BytesIO(data), name), "mode": mode},
                       content_type="multipart/form-data")


def all_leads() -> list[Lead]:
    return list(db.session.scalars(select(Lead).order_by(Lead.id).execution_options(skip_visibility=True)))


def import_entries() -> list[LogEntry]:
    return list(db.session.scalars(select(LogEntry).where(LogEntry.verb == "lead.import")))


def test_gbk_file_with_chinese_headers_and_labels(app, classroom):
    text = ("名称,公司,状态,来源,邮箱,员工人数\n"
            "王小明,杭州茶业,新线索,网站,wang@example.com,12\n"
            "李雷,上海钢铁,已联系,web,LI@example.com,\n")
    response = post(classroom.client_for(app, "studentA"), text.encode("gbk"))
    assert response.status_code == 200
    assert "2 records imported." in response.get_data(as_text=True)
    leads = all_leads()
    assert [(x.name, x.status, x.source, x.employees) for x in leads] == [
        ("王小明", "new", "web", 12), ("李雷", "contacted", "web", None)]
    student = classroom.user("studentA")
    assert all(x.owner_id == student.id and x.class_id == student.class_id and x.created_by_id == student.id
               for x in leads)
    (entry,) = import_entries()
    assert entry.params["count"] == 2 and entry.object_type == "lead" and entry.actor_id == student.id
    assert entry.params["first_id"] == leads[0].id and entry.params["last_id"] == leads[1].id
    # One entry for the import: no per-record create entries.
    assert db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.verb == "lead.create")) == 0


def test_utf8_bom_file_with_english_headers(app, classroom):
    text = "\ufeffName,company,Status,annual_revenue,Rating\nAda,Analytical Co,Qualified,\"1,250,000.50\",hot\n"
    response = post(classroom.client_for(app, "studentA"), text.encode("utf-8"))
    assert "1 records imported." in response.get_data(as_text=True)
    (lead,) = all_leads()
    assert (lead.name, lead.status, str(lead.annual_revenue), lead.rating) == ("Ada", "qualified", "1250000.50", "hot")


def test_missing_status_takes_the_forms_default(app, classroom):
    post(classroom.client_for(app, "studentA"), b"name\nOnly a name\n")
    (lead,) = all_leads()
    assert lead.status == "new"


def _xlsx() -> bytes:
    wb = Workbook()
    wb.active.append(["name", "company"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"PK\x03\x04" + b"\x14\x00broken zip" * 20, "leads.xlsx", "This .xlsx workbook cannot be read"),
    (_xlsx()[:300], "truncated.xlsx", "This .xlsx workbook cannot be read"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "leads.xls", "This is an old Excel workbook (.xls)."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "it contains binary data"),
    (b"%PDF-1.4 name,company", "leads.pdf", "Upload a .csv or .xlsx file"),
    (b"", "empty.csv", "The file is empty."),
    (b"\n \n", "blank.csv", "The file is empty."),
    (b"name\n\xff\xfe\x81\n", "latin.csv", "The file is neither UTF-8 nor GBK text."),
])
def test_whole_file_refusals(app, classroom, data, name, message):
    response = post(classroom.client_for(app, "studentA"), data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert all_leads() == [] and import_entries() == []


ROWS = (
    "name,email,phone,employees,status,description\n"
    "Good One,one@example.com,0571-8888 1234,5,new,\n"         # line 2
    "Bad Mail,not-an-email,,,new,\n"                            # line 3
    "Minus,,,-4,new,\n"                                          # line 4
    "Odd Status,,,,someday,\n"                                  # line 5
    ",nobody@example.com,,,new,\n"                              # line 6
    "Good Two,two@example.com,,,contacted,\"two\nlines\"\n"     # line 7 (the quoted value spans 7-8)
    "Good One,one@example.com,0571-8888 1234,5,new,\n"          # line 9: same as line 2
    "Bad Phone,,call me,,new,\n"                                # line 10
)


def _problems(page: str) -> list[tuple[str, str]]:
    table = page.split('data-testid="import-errors"', 1)[1].split("</table>", 1)[0]
    import re

    return re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", table)


def test_row_errors_import_nothing_by_default(app, classroom):
    page = post(classroom.client_for(app, "studentA"), ROWS.encode()).get_data(as_text=True)
    assert "Nothing was imported: some rows have errors." in page
    assert _problems(page) == [("3", "Email"), ("4", "Employees"), ("5", "Status"), ("6", "Name"),
                               ("9", "—"), ("10", "Phone")]
    assert "Same as line 2 (duplicate row)." in page
    assert "“someday” is not one of: New, Contacted" in page
    assert "Must not be negative." in page
    assert all_leads() == [] and import_entries() == []


def test_row_errors_import_only_the_good_rows_when_asked(app, classroom):
    page = post(classroom.client_for(app, "studentA"), ROWS.encode(), mode="good").get_data(as_text=True)
    assert "2 records imported." in page and "Rows with errors: 6" in page
    assert [(x.name, x.description) for x in all_leads()] == [("Good One", None), ("Good Two", "two\nlines")]
    assert import_entries()[0].params["count"] == 2


def test_an_export_imports_back(app, classroom, make_lead):
    make_lead(classroom.user("studentA"), name="Round Trip", company="Loop Co", status="qualified", source="web")
    client = classroom.client_for(app, "studentA")
    exported = client.post("/leads/export.csv?lang=zh_Hans_CN").data
    page = post(client, exported).get_data(as_text=True)
    assert "1 records imported." in page and "Columns ignored" in page
    copy = all_leads()[-1]
    assert (copy.name, copy.company, copy.status, copy.source) == ("Round Trip", "Loop Co", "qualified", "web")


def test_readonly_and_size_limit(app, classroom):
    observer = classroom.client_for(app, "readonlyA")
    assert observer.get("/leads/import").status_code == 403
    assert post(observer, b"name\nX\n").status_code == 403
    assert all_leads() == []
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = post(classroom.client_for(app, "studentA"), b"name\n" + b"x" * 2000)
    assert response.status_code == 413 and ("File too large" in response.get_data(as_text=True)
                                            or "文件过大" in response.get_data(as_text=True))


def test_ten_thousand_rows(app, classroom, capsys):
    lines = ["name,company,email,phone,status,source,employees"]
    lines += [f"Lead {i},Company {i % 700},lead{i}@example.com,138{i:08d},contacted,web,{i % 50}" for i in range(10_000)]
    client = classroom.client_for(app, "studentA")
    started = time.perf_counter()
    response = post(client, "\n".join(lines).encode())
    seconds = time.perf_counter() - started
    assert "10,000 records imported." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Lead).execution_options(skip_visibility=True)) == 10_000
    assert len(import_entries()) == 1 and import_entries()[0].params["count"] == 10_000
    with capsys.disabled():
        print(f"\n10,000-row import on {db.engine.dialect.name}: {seconds:.1f} s")


def test_cli_import(app, classroom, tmp_path):
    good = tmp_path / "leads.csv"
    good.write_text("名称,公司\nCLI Lead,Terminal Co\n", encoding="gbk")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "leads", str(good), "--user", "studentA"])
    act_as(None)
    assert result.exit_code == 0, result.output
    assert "1 of 1 rows imported" in result.stdout
    assert [x.name for x in all_leads()] == ["CLI Lead"]

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nOK,ok@example.com\nBad,nope\n", encoding="utf-8")
    result = runner.invoke(args=["import", "lead", str(bad), "--user", "studentA"])
    act_as(None)
    assert result.exit_code != 0
    assert "bad.csv:3: " in result.stderr and "nothing was imported because some rows have errors" in result.stderr
    assert len(all_leads()) == 1
    result = runner.invoke(args=["import", "leads", str(bad), "--user", "studentA", "--good-rows-only"])
    act_as(None)
    assert result.exit_code == 0 and "1 of 2 rows imported, 1 with errors" in result.stdout
    result = runner.invoke(args=["import", "leads", str(bad), "--user", "readonlyA"])
    act_as(None)
    assert result.exit_code != 0 and "read-only" in result.stderr
    result = runner.invoke(args=["import", "widgets", str(bad), "--user", "studentA"])
    act_as(None)
    assert result.exit_code != 0 and "unknown record type" in result.stderr


def test_types_with_their_own_create_service_go_row_by_row(app, classroom):
    """Opportunities: stage rules of the service apply per row; each row logs its create besides the import."""
    from sandbox.accounts.models import Account
    from sandbox.opportunities.models import Opportunity
    from sandbox.records.services import create_record

    act_as(classroom.user("studentA"))
    create_record(Account, {"name": "Westlake Tea"})
    db.session.commit()
    act_as(None)
    text = ("name,account_id,stage,close_date,amount\n"
            "Deal One,westlake tea,prospecting,2030-01-31,1000\n"
            "Lost Deal,,closed_lost,2030/02/01,\n"             # the service wants a closed-lost reason
            "Deal Two,Nobody Ltd,prospecting,2030-03-01,5\n")  # not a visible account
    client = classroom.client_for(app, "studentA")

    def opportunities() -> list[Opportunity]:
        return list(db.session.scalars(select(Opportunity).order_by(Opportunity.id)
                                       .execution_options(skip_visibility=True)))

    page = client.post("/opportunities/import?lang=en", data={"file": (io.BytesIO(text.encode()), "o.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "“Nobody Ltd” is not a record you can see" in page and opportunities() == []
    page = client.post("/opportunities/import?lang=en", data={"file": (io.BytesIO(text.encode()), "o.csv"),
                                                              "mode": "good"},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "1 records imported." in page and "Say why the opportunity was lost." in page
    (deal,) = opportunities()
    assert (deal.name, deal.stage, deal.probability > 0) == ("Deal One", "prospecting", True)
    assert deal.account_id == db.session.scalar(select(Account.id).execution_options(skip_visibility=True))
    verbs = list(db.session.scalars(select(LogEntry.verb).where(LogEntry.verb.like("opportunity.%"))))
    assert sorted(verbs) == ["opportunity.create", "opportunity.import"]
    # Default mode: a row the service refuses (no form error) still means nothing is imported.
    text = "name,stage,close_date\nDeal Three,prospecting,2030-01-31\nLost Again,closed_lost,2030-02-01\n"
    page = client.post("/opportunities/import?lang=en", data={"file": (io.BytesIO(text.encode()), "o.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Say why the opportunity was lost." in page and "Nothing was imported" in page
    assert [o.name for o in opportunities()] == ["Deal One"]


def test_a_lead_import_naming_a_campaign_stays_one_bulk_entry_and_never_reaches_an_invisible_one(app, classroom):
    """Leads carry a campaign (checked by the type's clean()), and their import is still one entry for the file."""
    from sandbox.campaigns.models import Campaign
    from sandbox.records.services import create_record

    student, other = classroom.user("studentA"), classroom.user("studentB")
    act_as(student)
    mine = create_record(Campaign, {"name": "Spring tea fair", "status": "planned"})
    act_as(other)
    hidden = create_record(Campaign, {"name": "Autumn fair", "status": "planned"})
    db.session.commit()
    act_as(None)
    response = post(classroom.client_for(app, "studentA"),
                    f"Name,Status,Campaign\nWang,new,{mine.id}\nLi,new,Spring tea fair\n".encode())
    assert "2 records imported." in response.get_data(as_text=True)
    assert [(x.name, x.campaign_id) for x in all_leads()] == [("Wang", mine.id), ("Li", mine.id)]
    assert len(import_entries()) == 1
    assert db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.verb == "lead.create")) == 0
    response = post(classroom.client_for(app, "studentA"), f"Name,Status,Campaign\nZhao,new,{hidden.id}\n".encode())
    assert response.status_code == 200 and "Zhao" not in [x.name for x in all_leads()]
