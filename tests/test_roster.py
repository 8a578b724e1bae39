"""Roster import, on the web and on the command line (SPEC §3.3, §9.2): all rows or nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.org.models import Status, User
from tests.conftest import login
from tests.helpers import text


def user_count() -> int:
    """How many users exist."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


def by_username(username: str) -> User | None:
    """The user with this username, if any."""
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def upload(client: Any, klass: Any, content: bytes, filename: str = "roster.csv") -> Any:
    """Upload a roster file for `klass` through the form."""
    return client.post("/admin/roster", data={"class_id": klass.id, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def error_rows(page: str) -> dict[str, str]:
    """The per-row report: line -> problem."""
    table = re.search(r'data-testid="roster-errors">(.*?)</table>', page, re.S)
    assert table, "no error report on the page"
    return {line: message for line, message in re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(1))}


def sheet(page: str) -> dict[str, list[str]]:
    """The printable sheet: username -> [name, student number, position, password]."""
    table = re.search(r'data-testid="roster-sheet">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>((?:<td[^>]*>[^<]*</td>)+)</tr>", table)
    result = {}
    for row in rows:
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        result[cells[0]] = cells[1:]
    return result


GOOD = (
    "username,name,student_number,email,department\n"
    "wang.fang,Wang Fang,2026101,wang.fang@example.com,A1\n"
    "zhao_lei,Zhao Lei,2026102,,a2\n"
)


# ---- the web page ---------------------------------------------------------------------------------------------------


def test_roster_import_creates_approved_students_with_one_time_passwords(app, classroom):
    """Roster import creates approved students with one time passwords."""
    teacher = classroom.client_for(app, "teacher")
    assert teacher.get("/admin/roster").status_code == 200
    response = upload(teacher, classroom.classes["A"], GOOD.encode())
    assert response.status_code == 200
    page = text(response)
    assert "2 students imported into Class A" in page
    assert "shown only now" in page
    rows = sheet(page)
    assert set(rows) == {"wang.fang", "zhao_lei"}
    for username, (name, number, position, password) in rows.items():
        user = by_username(username)
        assert user.display_name == name
        assert user.student_number == number
        assert user.status == Status.ACTIVE
        assert user.role == "student"
        assert user.class_id == classroom.classes["A"].id
        assert user.must_change_password is True
        assert user.check_password(password)
        assert position == f"{user.position.parent.name} › Sales"  # the position with its path in the class
    assert by_username("wang.fang").position_id == classroom.positions["A1"].id
    assert by_username("zhao_lei").position_id == classroom.positions["A2"].id  # department names ignore case
    assert by_username("wang.fang").email == "wang.fang@example.com"
    assert by_username("zhao_lei").email is None
    # The downloadable CSV holds the same passwords.
    link = re.search(r'download="roster-passwords.csv" href="data:text/csv;charset=utf-8,([^"]+)"', page).group(1)
    csv_text = unquote(link)
    assert csv_text.startswith("\ufeffusername,name,student_number,department,initial_password")
    for username, (_name, _number, _position, password) in rows.items():
        assert f"{username}," in csv_text and password in csv_text
    entry = db.session.scalar(select(LogEntry).where(LogEntry.verb == "roster.import"))
    assert entry.params["count"] == 2
    assert entry.actor_id == classroom.user("teacher").id
    for _name, _number, _position, password in rows.values():
        assert password not in str(entry.changes) + str(entry.params)


def test_imported_student_must_change_the_password_at_first_sign_in(app, classroom):
    """Imported student must change the password at first sign in."""
    teacher = classroom.client_for(app, "teacher")
    rows = sheet(text(upload(teacher, classroom.classes["A"], GOOD.encode())))
    password = rows["wang.fang"][3]
    client = app.test_client()
    response = login(client, "wang.fang", password)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/password")
    assert client.get("/leads/").headers["Location"].endswith("/auth/password")
    response = client.post("/auth/password", data={"old_password": password, "password": "my0wnpass26",
                                                    "confirm": "my0wnpass26"})
    assert response.status_code == 302
    assert client.get("/leads/").status_code == 200
    assert by_username("wang.fang").must_change_password is False


@pytest.mark.parametrize(
    ("encoding", "header"),
    [
        ("utf-8", "username,name,student_number,email,department"),
        ("utf-8-sig", "username,name,student_number,email,department"),
        ("utf-8", "用户名,姓名,学号,邮箱,部门"),
        ("utf-8-sig", "用户名,姓名,学号,邮箱,部门"),
        ("gbk", "用户名,姓名,学号,邮箱,部门"),
        ("gbk", "账号,姓名,学号,电子邮件,部门"),
    ],
)
def test_roster_in_excel_encodings_and_chinese_headers(app, classroom, encoding, header):
    """Roster in excel encodings and chinese headers."""
    teacher = classroom.client_for(app, "teacher")
    content = f"{header}\r\nzhang.wei,张伟,2026201,,A1\r\nli.na,李娜,2026202,li.na@example.com,A2\r\n"
    response = upload(teacher, classroom.classes["A"], content.encode(encoding))
    assert response.status_code == 200, text(response)[:2000]
    assert set(sheet(text(response))) == {"zhang.wei", "li.na"}
    assert by_username("zhang.wei").display_name == "张伟"
    assert by_username("li.na").display_name == "李娜"
    assert by_username("li.na").position_id == classroom.positions["A2"].id


def test_roster_with_chinese_department_names(app, classroom):
    """Roster with chinese department names."""
    from sandbox.org.services import class_wizard
    from tests.conftest import act_as

    act_as(None)
    klass = class_wizard(None, classroom.teacher_node, "市场营销1班", ["销售一部", "销售二部"], "MKT1", True, "销售代表")
    db.session.commit()
    teacher = classroom.client_for(app, "teacher")
    content = "用户名,姓名,部门\nchen.jie,陈杰,销售二部\n".encode("gbk")
    response = upload(teacher, klass, content)
    assert response.status_code == 200
    user = by_username("chen.jie")
    assert user.class_id == klass.id
    assert user.position.name == "销售代表"
    assert user.position.parent.name == "销售二部"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("user,fullname,dept\nx1y,X,A1\n", "1", "Unknown: user, fullname, dept; missing: username, name, department"),
        ("username,name,email\nabc,Abc,abc@example.com\n", "1", "missing: department"),
        ("username,name,department,phone\nabc,Abc,A1,123\n", "1", "Unknown: phone"),
        ("", "file", "The file is empty."),
        ("username,name,department\n", "file", "The file has a header but no students."),
        ("username,name,department\n\n ,, \n", "file", "The file has a header but no students."),
    ],
)
def test_wrong_or_missing_columns_import_nothing(app, classroom, content, line, message):
    """Wrong or missing columns import nothing."""
    teacher = classroom.client_for(app, "teacher")
    before = user_count()
    response = upload(teacher, classroom.classes["A"], content.encode())
    assert response.status_code == 400
    page = text(response)
    assert "Fix the rows listed below; nothing was imported." in page
    assert message in error_rows(page)[line]
    assert user_count() == before


def test_every_bad_row_is_reported_and_nothing_is_imported(app, classroom):
    """Every bad row is reported and nothing is imported."""
    content = (
        "username,name,student_number,email,department\n"
        "good.one,Good One,1,good.one@example.com,A1\n"          # 2: fine, but must not be imported
        "Good.One,Again,2,,A1\n"                                   # 3: repeats line 2 (case-insensitive)
        "STUDENTA,Taken,3,,A1\n"                                   # 4: in the database already
        "new.one,New One,4,,Z9\n"                                  # 5: no such department
        "x,,5,,A1\n"                                               # 6: bad username, empty name
        "mail.one,Mail One,6,not-an-email,A2\n"                    # 7: bad email
        "mail.two,Mail Two,7,studenta@example.com,A2\n"            # 8: email taken
        "mail.three,Mail Three,8,GOOD.ONE@example.com,A2\n"        # 9: email repeats line 2
        "short.row,Short Row\n"                                    # 10: missing department
        "another.good,Another Good,9,,A2\n"                        # 11: fine
    )
    teacher = classroom.client_for(app, "teacher")
    before = user_count()
    response = upload(teacher, classroom.classes["A"], content.encode())
    assert response.status_code == 400
    page = text(response)
    assert "Problems found (nothing was imported)" in page
    rows = error_rows(page)
    assert set(rows) == {"3", "4", "5", "6", "7", "8", "9", "10"}
    assert "username Good.One repeats line 2" in rows["3"]
    assert "username STUDENTA is taken" in rows["4"]
    assert "department “Z9” does not exist in Class A" in rows["5"]
    assert "must be 3–64 letters" in rows["6"] and "name is empty" in rows["6"]
    assert "email “not-an-email” is not an address" in rows["7"]
    assert "email studenta@example.com is already used" in rows["8"]
    assert "is already used" in rows["9"]
    assert "department “” does not exist" in rows["10"]
    assert user_count() == before
    assert by_username("good.one") is None and by_username("another.good") is None
    assert db.session.scalar(select(LogEntry).where(LogEntry.verb == "roster.import")) is None


def test_department_of_another_class_is_unknown(app, classroom):
    """Department of another class is unknown."""
    teacher = classroom.client_for(app, "teacher")
    response = upload(teacher, classroom.classes["A"], b"username,name,department\nbee,Bee,B1\n")
    assert response.status_code == 400
    assert "department “B1” does not exist in Class A" in error_rows(text(response))["2"]
    assert by_username("bee") is None


def test_binary_file_is_refused_with_a_message(app, classroom):
    """Binary file is refused with a message."""
    teacher = classroom.client_for(app, "teacher")
    before = user_count()
    response = upload(teacher, classroom.classes["A"], b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xff\xfe\x80\x81", "photo.png")
    assert response.status_code == 400
    assert error_rows(text(response))
    assert user_count() == before


def test_upload_without_a_file_is_explained(app, classroom):
    """Upload without a file is explained."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/roster", data={"class_id": classroom.classes["A"].id},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This field is required." in text(response)


def test_roster_only_into_the_instructors_classes(app, classroom):
    """Roster only into the instructors classes."""
    before = user_count()
    teacher2 = classroom.client_for(app, "teacher2")
    response = upload(teacher2, classroom.classes["A"], GOOD.encode())
    assert response.status_code == 400
    assert "Not a valid choice" in text(response)
    assert user_count() == before
    for who in ("studentA", "readonlyA"):
        assert upload(classroom.client_for(app, who), classroom.classes["A"], GOOD.encode()).status_code == 403
    assert user_count() == before


def test_roster_formula_cells_are_neutralised_in_the_download(app, classroom):
    """Roster formula cells are neutralised in the download."""
    teacher = classroom.client_for(app, "teacher")
    content = "username,name,department\nformula.kid,=HYPERLINK(\"http://x\"),A1\n"
    page = text(upload(teacher, classroom.classes["A"], content.encode()))
    link = unquote(re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', page).group(1))
    assert "'=HYPERLINK" in link
    assert by_username("formula.kid").display_name == '=HYPERLINK("http://x")'


# ---- the command line -----------------------------------------------------------------------------------------------


def write(tmp_path: Path, content: str, encoding: str = "utf-8") -> str:
    """Write a roster file under `tmp_path` and return its path."""
    path = tmp_path / "roster.csv"
    path.write_bytes(content.encode(encoding))
    return str(path)


def test_cli_roster_import(app, classroom, tmp_path):
    """Cli roster import."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "import", write(tmp_path, GOOD), "--class", "Class A"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "username, name, position, initial_password"
    printed = {line.split(", ")[0]: line.split(", ")[3] for line in lines[1:]}
    assert set(printed) == {"wang.fang", "zhao_lei"}
    for username, password in printed.items():
        user = by_username(username)
        assert user.check_password(password)
        assert user.must_change_password is True
        assert user.class_id == classroom.classes["A"].id
    entry = db.session.scalar(select(LogEntry).where(LogEntry.verb == "roster.import"))
    assert entry.actor_id is None and entry.params["count"] == 2


def test_cli_roster_import_by_join_code_and_gbk(app, classroom, tmp_path):
    """Cli roster import by join code and gbk."""
    content = "用户名,姓名,学号,邮箱,部门\nzhang.wei,张伟,1,,B2\n"
    result = app.test_cli_runner().invoke(args=["roster", "import", write(tmp_path, content, "gbk"), "--class", "joinb"])
    assert result.exit_code == 0, result.output
    user = by_username("zhang.wei")
    assert (user.display_name, user.position_id) == ("张伟", classroom.positions["B2"].id)


def test_cli_roster_errors_go_to_stderr_and_import_nothing(app, classroom, tmp_path):
    """Cli roster errors go to stderr and import nothing."""
    content = GOOD + "studentA,Taken,,,A1\nnew.kid,New Kid,,,Z9\n"
    before = user_count()
    result = app.test_cli_runner().invoke(args=["roster", "import", write(tmp_path, content), "--class", "Class A"])
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "roster.csv:4: username studentA is taken" in result.stderr
    assert "roster.csv:5: department “Z9” does not exist in Class A" in result.stderr
    assert "2 problem(s); nothing was imported" in result.stderr
    assert user_count() == before


def test_cli_roster_unknown_class(app, classroom, tmp_path):
    """Cli roster unknown class."""
    before = user_count()
    result = app.test_cli_runner().invoke(args=["roster", "import", write(tmp_path, GOOD), "--class", "Class Z"])
    assert result.exit_code != 0
    assert "no class named or coded 'Class Z'" in result.stderr
    assert result.stdout == ""
    assert user_count() == before


def test_cli_roster_missing_file(app, classroom, tmp_path):
    """Cli roster missing file."""
    result = app.test_cli_runner().invoke(args=["roster", "import", str(tmp_path / "nope.csv"), "--class", "Class A"])
    assert result.exit_code != 0
    assert "does not exist" in result.stderr


def test_cli_roster_wrong_columns(app, classroom, tmp_path):
    """Cli roster wrong columns."""
    result = app.test_cli_runner().invoke(args=["roster", "import", write(tmp_path, "a,b\n1,2\n"), "--class", "Class A"])
    assert result.exit_code != 0
    assert "roster.csv:1: Columns must be username, name, student_number, email, department." in result.stderr
