"""Imports from the systems teachers already have: Salesforce, HubSpot, SuiteCRM/EspoCRM exports (CSV and
.xlsx), the mapping step for unknown columns (remembered per user), picklist values of other systems, the
size limit and the kept upload between steps."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import time
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.records.models import ImportMapping
from tests.conftest import act_as

SALESFORCE_HEADER = ("Lead ID,First Name,Last Name,Title,Company,Email,Phone,Mobile,Lead Source,Lead Status,Industry,"
                     "Rating,Street,City,State/Province,Zip/Postal Code,Country,Description,Website,No. of Employees,"
                     "Annual Revenue,Lead Owner,Created Date")
SALESFORCE_ROWS = [
    "00Q5g00000AbCdE,Ada,Lovelace,CTO,Analytical Engines Ltd,ada@example.com,+44 20 7946 0958,,Web,"
    "Open - Not Contacted,Banking,Hot,12 St James's Square,London,,SW1Y 4LB,United Kingdom,\"Met at a fair, wants a demo\","
    "https://engines.example.com,250,\"1,250,000\",Grace Hopper,2026-10-01",
    "00Q5g00000AbCdF,小明,王,采购经理,杭州茶业有限公司,wang@example.cn,0571-8888 1234,138 0013 8000,Partner Referral,"
    "Working - Contacted,Food & Beverage,Warm,西湖区龙井路1号,杭州市,浙江省,310000,中国,,,40,,Grace Hopper,2026-10-02",
    "00Q5g00000AbCdG,Alan,Turing,,Bletchley Co,alan@example.com,,,Purchased List,Closed - Converted,Technology,Cold,"
    ",,,,,,,,,Grace Hopper,2026-10-03",
    "00Q5g00000AbCdH,,Babbage,,Difference Co,,,,Trade Show,Closed - Not Converted,,,,,,,,,,,,Grace Hopper,2026-10-04",
]


def post(client, data: bytes, name: str, kind: str = "leads", **fields):
    return client.post(f"/{kind}/import?lang=en", data={"file": (io.BytesIO(data), name), "mode": "all", **fields},
                       content_type="multipart/form-data")


def step(client, kind: str = "leads", **fields):
    return client.post(f"/{kind}/import?lang=en", data=fields)


def leads() -> list[Lead]:
    return list(db.session.scalars(select(Lead).order_by(Lead.id).execution_options(skip_visibility=True)))


def token_of(page: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)


def selects(page: str) -> dict[str, str]:
    """Each column select of the mapping page: its label (the header) -> the selected target."""
    found = {}
    for name, body in re.findall(r'<select[^>]*name="(col_\d+)"[^>]*>(.*?)</select>', page, re.S):
        label = re.search(rf'<label[^>]*for="{name}"[^>]*>([^<]*)</label>', page).group(1).strip()
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        found[label] = next(x for x in chosen.groups() if x is not None) if chosen else ""
    return found


def field_names(page: str) -> dict[str, str]:
    """Header -> name of its select."""
    return {re.search(rf'<label[^>]*for="{n}"[^>]*>([^<]*)</label>', page).group(1).strip(): n
            for n in re.findall(r'<select[^>]*name="(col_\d+)"', page)}


def test_a_salesforce_leads_export_imports_as_it_is(app, classroom):
    text = "\n".join([SALESFORCE_HEADER, *SALESFORCE_ROWS]) + "\n"
    page = post(classroom.client_for(app, "studentA"), text.encode("utf-8"), "leads.csv").get_data(as_text=True)
    assert "4 records imported." in page, page[:3000]
    assert "Lead Source → Source" in page and "First Name → Name (given name)" in page
    assert "Lead ID" in page.split("Columns ignored:", 1)[1].split("</li>", 1)[0]
    got = [(x.name, x.company, x.status, x.source, x.industry, x.rating, x.employees, x.address) for x in leads()]
    assert got == [
        ("Ada Lovelace", "Analytical Engines Ltd", "new", "web", "finance", "hot", 250,
         "12 St James's Square, London, SW1Y 4LB, United Kingdom"),
        ("王小明", "杭州茶业有限公司", "contacted", "referral", "food", "warm", 40, "中国浙江省杭州市西湖区龙井路1号 310000"),
        ("Alan Turing", "Bletchley Co", "qualified", "other", "it", "cold", None, None),
        ("Babbage", "Difference Co", "unqualified", "trade_show", None, None, None, None),
    ]
    ada = leads()[0]
    assert (str(ada.annual_revenue), ada.description, ada.mobile) == ("1250000.00", "Met at a fair, wants a demo", None)
    student = classroom.user("studentA")
    assert all(x.owner_id == student.id for x in leads())
    (entry,) = db.session.scalars(select(LogEntry).where(LogEntry.verb == "lead.import"))
    assert entry.params["count"] == 4 and entry.actor_id == student.id
    # Aliases alone change nothing that needs remembering.
    assert db.session.scalars(select(ImportMapping)).all() == []


def _salesforce_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append([])  # exports from reports often start a row lower
    ws.append(SALESFORCE_HEADER.split(","))
    ws.append(["00Q1", "Grace", "Hopper", "Rear Admiral", "Navy Computing", "grace@example.com", "0571 8888 1234",
               None, "Web", "Working - Contacted", "Technology", "Hot", None, None, None, None, None, None, None,
               1200, 3500000.5, "Owner", dt.datetime(2026, 10, 1, 9, 30)])
    ws.append([None] * 23)
    ws.append(["00Q2", "红", "李", None, "上海钢铁", None, None, 13800138000, "Employee Referral", "已确认",
               None, None, None, None, None, None, None, None, None, 35.0, None, "Owner", dt.date(2026, 10, 2)])
    wb.create_sheet("Notes").append(["ignored sheet"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_salesforce_xlsx_export_imports_from_its_first_sheet(app, classroom):
    page = post(classroom.client_for(app, "studentA"), _salesforce_xlsx(), "report.xlsx").get_data(as_text=True)
    assert "2 records imported." in page, page[:3000]
    got = [(x.name, x.company, x.status, x.source, x.industry, x.employees, x.mobile, str(x.annual_revenue))
           for x in leads()]
    assert got == [("Grace Hopper", "Navy Computing", "contacted", "web", "it", 1200, None, "3500000.50"),
                   ("李红", "上海钢铁", "qualified", "referral", None, 35, "13800138000", "None")]


def test_a_hubspot_contacts_export(app, classroom):
    from sandbox.accounts.models import Account
    from sandbox.records.services import create_record

    act_as(classroom.user("studentA"))
    account = create_record(Account, {"name": "Westlake Tea"})
    db.session.commit()
    act_as(None)
    text = ("Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Job Title,Company Name,"
            "Lifecycle Stage,Lead Status,Contact owner,Street Address,City,State/Region,Postal Code,Country/Region,"
            "Original Source,Create Date\n"
            "51,Mei,Chen,mei@example.com,0571-8765 4321,,Buyer,Westlake Tea,Customer,Connected,Ann,1 Lake Rd,"
            "Hangzhou,Zhejiang,310000,China,Organic Search,2026-09-30 10:00\n"
            "52,Tom,Baker,tom@example.com,,,,,Lead,New,Ann,,,,,,Referrals,2026-09-30 11:00\n"
            "53,Lee,Ghost,lee@example.com,,,,Nobody Ltd,Lead,New,Ann,,,,,,Sponsorship,2026-09-30 12:00\n")
    client = classroom.client_for(app, "studentA")
    page = post(client, text.encode(), "hubspot-crm-exports-all-contacts.csv", "contacts",
                mode="good").get_data(as_text=True)
    assert "2 records imported." in page, page[:3000]
    # Unmappable values are reported on their row, each with the column's field.
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>", page)
    assert ("4", "Account", "“Nobody Ltd” is not a record you can see (give its id or exact name).") in errors
    assert any(line == "4" and f == "Source" and "“Sponsorship” is not one of: Website" in m for line, f, m in errors)
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id).execution_options(skip_visibility=True)))
    assert [(c.name, c.account_id, c.source, c.title, c.address) for c in contacts] == [
        ("Mei Chen", account.id, "web", "Buyer", "1 Lake Rd, Hangzhou, Zhejiang 310000, China"),
        ("Tom Baker", None, "referral", None, None)]


UNKNOWN = ("Vorname,Nachname,Firma,Herkunft,Stand,Notiz\n"
           "Ada,Lovelace,Engines Ltd,网站,Qualified,first\n"
           "Li,Lei,Tea Co,Referral,已确认,second\n")


def test_the_mapping_step_and_its_remembered_choices(app, classroom):
    client = classroom.client_for(app, "studentA")
    page = post(client, UNKNOWN.encode(), "partner.csv").get_data(as_text=True)
    assert 'data-testid="import-columns-step"' in page and leads() == []
    assert "6 columns are not recognised." in page
    assert "Unknown columns: “Vorname”, “Nachname”, “Firma”, “Herkunft”, “Stand”, “Notiz”." in page
    assert "Values: Ada, Li" in page and "Values: 网站, Referral" in page
    assert set(selects(page).values()) == {"ignore"}
    names, token = field_names(page), token_of(page)
    assert list(Path(app.config["UPLOAD_FOLDER"], "import-tmp").glob(token))  # the upload waits on disk
    choice = {names["Vorname"]: "name:first", names["Nachname"]: "name:last", names["Firma"]: "company",
              names["Herkunft"]: "source", names["Stand"]: "status", names["Notiz"]: "ignore"}
    page = step(client, token=token, step="map", mode="all", **choice).get_data(as_text=True)
    assert "2 records imported." in page, page[:3000]
    assert [(x.name, x.company, x.source, x.status) for x in leads()] == [
        ("Ada Lovelace", "Engines Ltd", "web", "qualified"), ("Li Lei", "Tea Co", "referral", "qualified")]
    assert not list(Path(app.config["UPLOAD_FOLDER"], "import-tmp").glob(token + "*"))  # imported: gone
    student = classroom.user("studentA")
    kept = {(m.user_id, m.record_type, m.header, m.target) for m in db.session.scalars(select(ImportMapping))}
    assert kept == {(student.id, "lead", "vorname", "name:first"), (student.id, "lead", "nachname", "name:last"),
                    (student.id, "lead", "firma", "company"), (student.id, "lead", "herkunft", "source"),
                    (student.id, "lead", "stand", "status"), (student.id, "lead", "notiz", "ignore")}
    (entry,) = db.session.scalars(select(LogEntry).where(LogEntry.verb == "import.columns"))
    assert entry.actor_id == student.id and "Herkunft=source" in entry.params["columns"].split("; ")

    # The same export next time: mapped automatically, and the result says how.
    again = UNKNOWN.replace("Ada,Lovelace", "Charles,Babbage").replace("Li,Lei", "Mei,Chen")
    page = post(client, again.encode(), "partner-2.csv").get_data(as_text=True)
    assert "2 records imported." in page and "Herkunft → Source" in page
    # Another student has not chosen anything yet.
    page = post(classroom.client_for(app, "peerA"), again.encode(), "partner-2.csv").get_data(as_text=True)
    assert 'data-testid="import-columns-step"' in page

    # Changing a remembered choice: ask to check the columns; the page starts from the remembered ones.
    page = post(client, again.encode(), "partner-3.csv", review="y").get_data(as_text=True)
    assert selects(page)["Herkunft"] == "source" and "As you chose last time." in page
    names, token = field_names(page), token_of(page)
    choice.update({names["Notiz"]: "description"})
    page = step(client, token=token, step="map", mode="all", **choice).get_data(as_text=True)
    assert "2 records imported." in page
    assert db.session.scalar(select(ImportMapping.target).where(ImportMapping.header == "notiz")) == "description"
    assert [x.description for x in leads()[-2:]] == ["first", "second"]


def test_mapping_step_refusals(app, classroom):
    client = classroom.client_for(app, "studentA")
    page = post(client, UNKNOWN.encode(), "partner.csv").get_data(as_text=True)
    names, token = field_names(page), token_of(page)
    twice = {n: "ignore" for n in names.values()} | {names["Vorname"]: "name", names["Nachname"]: "name"}
    response = step(client, token=token, step="map", mode="all", **twice)
    assert response.status_code == 400 and "These columns appear twice: Name." in response.get_data(as_text=True)
    nothing = {n: "ignore" for n in names.values()}
    response = step(client, token=token, step="map", mode="all", **nothing)
    assert response.status_code == 400 and "Required columns are missing: Name." in response.get_data(as_text=True)
    response = step(client, token=token, step="map", mode="all", **(nothing | {names["Firma"]: "no_such_field"}))
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    # Someone else's token, a made-up one, and one that reaches out of the folder find no file.
    for other, bad in (("peerA", token), ("studentA", "x" * 32), ("studentA", "../../secret_key")):
        response = step(classroom.client_for(app, other), token=bad, step="map", mode="all", **nothing)
        assert response.status_code == 400
        assert "The uploaded file is no longer here" in response.get_data(as_text=True)
    assert leads() == [] and db.session.scalars(select(ImportMapping)).all() == []


def test_nothing_imported_keeps_the_file_for_the_good_rows(app, classroom):
    client = classroom.client_for(app, "studentA")
    text = SALESFORCE_HEADER + "\n" + SALESFORCE_ROWS[0] + "\n" + SALESFORCE_ROWS[2].replace("Closed - Converted",
                                                                                            "Sleeping") + "\n"
    page = post(client, text.encode(), "leads.csv").get_data(as_text=True)
    assert "Nothing was imported: some rows have errors." in page
    assert re.search(r"<tr><td>3</td><td>Status</td><td>“Sleeping” is not one of: New, Contacted", page)
    page = step(client, token=token_of(page), step="again").get_data(as_text=True)
    assert "1 records imported." in page and [x.name for x in leads()] == ["Ada Lovelace"]
    assert list(Path(app.config["UPLOAD_FOLDER"], "import-tmp").iterdir()) == []


def test_size_limit_and_old_kept_files(app, classroom):
    folder = Path(app.config["UPLOAD_FOLDER"], "import-tmp")
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / ("o" * 32)
    old.write_bytes(b"name\nleft over\n")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    client = classroom.client_for(app, "studentA")
    big = b"name\n" + b"x" * (10 * 1024 * 1024)
    response = post(client, big, "big.csv")
    assert response.status_code == 400
    assert "The file is larger than 10 MB. Split it into smaller files." in response.get_data(as_text=True)
    post(client, UNKNOWN.encode(), "partner.csv")  # keeps an upload, and clears the old one
    assert not old.exists() and len(list(folder.iterdir())) == 2  # the new file and its facts


def test_no_file_and_a_remembered_field_that_has_gone(app, classroom):
    client = classroom.client_for(app, "studentA")
    response = client.post("/leads/import?lang=en", data={"mode": "all"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV or .xlsx file." in response.get_data(as_text=True)
    # A choice remembered for a field this type no longer has is not applied: the column asks again.
    db.session.add(ImportMapping(user_id=classroom.user("studentA").id, record_type="lead", header="firma",
                                 target="fax_number"))
    db.session.commit()
    page = post(client, UNKNOWN.encode(), "partner.csv").get_data(as_text=True)
    assert "“Firma”" in page.split("Unknown columns:", 1)[1].split("</div>", 1)[0]
    assert selects(page)["Firma"] == "ignore"
