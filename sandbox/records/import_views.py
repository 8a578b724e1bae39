"""The import page of every record type, in up to three steps on one URL.

1. Upload (CSV or .xlsx). When every column is known (our names and labels, the user's remembered
   choices, other CRMs' column names) the file is checked and imported at once.
2. Otherwise, or when asked, the mapping step: one select per column (a field, a part of the name or
   address, or ignore) with sample values. The upload waits under the instance upload folder by a
   random token, so nothing is uploaded twice; the choices are remembered for the user's next import.
3. The result. When nothing was imported because some rows have errors, the kept file can be imported
   again with only its good rows.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, RadioField, SelectField, SubmitField

from ..access import require_changer
from . import import_columns, import_files, importing
from .import_aliases import IGNORE
from .import_mappings import remember_columns, remembered
from .import_service import ImportResult, import_file
from .importing import ColumnsNeeded, ImportFileError

MODES = [("all", _l("Import nothing; I will fix the file and upload it again")),
         ("good", _l("Import only the good rows"))]


class ImportForm(FlaskForm):
    """The upload step of an import."""

    file = FileField(_l("CSV or Excel (.xlsx) file"), validators=[FileRequired(message=_l("Choose a CSV or .xlsx file."))])
    mode = RadioField(_l("If some rows have errors"), default="all", choices=MODES)
    review = BooleanField(_l("Let me check which field each column fills before importing"))
    submit = SubmitField(_l("Import"))


class MappingForm(FlaskForm):
    """The mapping step; `mapping_form` adds one `col_<n>` select per column, the mode and the button."""

    token = HiddenField()
    step = HiddenField(default="map")


class AgainForm(FlaskForm):
    """On a result with errors and nothing imported: the same file again, only its good rows."""

    token = HiddenField()
    step = HiddenField(default="again")
    submit = SubmitField(_l("Import only the good rows"))


def _describe(column: import_columns.Column) -> str:
    samples = ", ".join(column.samples) if column.samples else _("(empty)")
    if column.target is None:
        how = _("Not recognised.")
    elif column.how == "remembered":
        how = _("As you chose last time.")
    elif column.how in ("exact", "chosen"):
        how = ""
    else:
        how = _("A %(system)s column.", system=column.how)
    return " ".join(x for x in (how, _("Values: %(v)s", v=samples)) if x)


def mapping_form(v: Any, columns: list[import_columns.Column], token: str, mode: str, bound: bool) -> MappingForm:
    """The mapping step's form: unrecognised columns first, then the others in file order.

    `bound`: read the choices from the request (the step's own POST), else show the guesses.
    """
    choices = import_columns.targets(v.record_type)
    ordered = sorted(columns, key=lambda c: (c.target is not None, c.index))
    fields = {f"col_{c.index}": SelectField(c.header or _("(no header)"), choices=choices, default=c.target or IGNORE,
                                            description=_describe(c)) for c in ordered}
    # Created after the selects, so they render below them (WTForms orders fields by creation).
    fields["mode"] = RadioField(_l("If some rows have errors"), default="all", choices=MODES)
    fields["submit"] = SubmitField(_l("Import with these columns"))
    form_cls = type("ColumnsForm", (MappingForm,), fields)
    if bound:
        return form_cls()
    return form_cls(formdata=None, token=token, mode=mode)


def _columns_page(v: Any, form: MappingForm, columns: list[import_columns.Column], filename: str, rows: int,
                  problems: list[str], status: int) -> Any:
    unknown = sum(1 for c in columns if c.target is None)
    return v.render("records/import_columns.html", form=form, filename=filename, rows=rows, unknown=unknown,
                    problems=problems), status


def _page(v: Any, form: ImportForm, result: ImportResult | None = None, again: AgainForm | None = None) -> Any:
    status = 400 if form.errors else 200
    return v.render("records/import.html", form=form, result=result, again=again,
                    columns=importing.column_help(v.record_type)), status


def _result(v: Any, result: ImportResult, token: str) -> Any:
    """The result page; the kept file goes once imported, and stays for a retry with the good rows."""
    again = None
    if result.imported or not result.errors or result.good_rows_only or result.bad_rows >= result.total:
        import_files.drop(token)
    else:
        again = AgainForm(formdata=None, token=token) if token else None  # no token: the file could not be kept
    return _page(v, ImportForm(formdata=None), result, again)


def _upload(v: Any) -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(v, form)
    upload = form.file.data
    data, filename = upload.read(), upload.filename or ""
    known = remembered(current_user.id, v.model.__audit_type__)
    try:
        import_files.check_size(data)
        if form.review.data:
            table = import_files.read_table(data, filename)
            columns = importing.columns_of(v.record_type, table, known)
            token = import_files.keep(data, filename, current_user.id, v.model.__audit_type__)
            problems = import_columns.problems(v.record_type, columns, importing.required_fields(v.record_type))
            return _columns_page(v, mapping_form(v, columns, token, form.mode.data, False), columns, filename,
                                 len(table.rows), problems, 200)
        result = import_file(v.record_type, data, filename, form.mode.data == "good", remembered_columns=known)
    except ColumnsNeeded as exc:
        try:
            token = import_files.keep(data, filename, current_user.id, v.model.__audit_type__)
        except ImportFileError as failed:
            form.file.errors = [*form.file.errors, failed.message]
            return _page(v, form)
        rows = len(import_files.read_table(data, filename).rows)
        return _columns_page(v, mapping_form(v, exc.columns, token, form.mode.data, False), exc.columns, filename, rows,
                             exc.problems, 200)
    except ImportFileError as exc:
        form.file.errors = [*form.file.errors, exc.message]
        return _page(v, form)
    token = ""
    if result.errors and not result.imported and not result.good_rows_only and result.bad_rows < result.total:
        try:  # kept only to offer "import the good rows"; without it the result page simply does not offer it
            token = import_files.keep(data, filename, current_user.id, v.model.__audit_type__)
        except ImportFileError:
            token = ""
    return _result(v, result, token)


def _gone(v: Any) -> Any:
    form = ImportForm(formdata=None)
    form.file.errors = [_("The uploaded file is no longer here (unfinished imports are kept for %(h)s hours). "
                          "Upload it again.", h=import_files.TEMP_HOURS)]
    return _page(v, form)


def _mapped(v: Any) -> Any:
    token = request.form.get("token", "")
    kept = import_files.load(token, current_user.id, v.model.__audit_type__)
    if kept is None:
        return _gone(v)
    data, meta = kept
    try:
        table = import_files.read_table(data, meta["filename"])
    except ImportFileError:
        return _gone(v)
    known = remembered(current_user.id, v.model.__audit_type__)
    columns = importing.columns_of(v.record_type, table, known)
    form = mapping_form(v, columns, token, "all", True)
    if not form.validate_on_submit():
        return _columns_page(v, form, columns, meta["filename"], len(table.rows), [], 400)
    chosen = {c.index: form[f"col_{c.index}"].data for c in columns}
    chosen_columns = importing.columns_of(v.record_type, table, known, chosen)
    problems = import_columns.problems(v.record_type, chosen_columns, importing.required_fields(v.record_type))
    if problems:
        return _columns_page(v, form, columns, meta["filename"], len(table.rows), problems, 400)
    meta["chosen"] = {str(i): t for i, t in chosen.items()}
    import_files.save_meta(token, meta)
    result = import_file(v.record_type, data, meta["filename"], form.mode.data == "good", chosen=chosen)
    # Remembered after the import, whose refused rows are rolled back: the choices are kept either way
    # (the boundary commits the result page), as the fixed file will map the same.
    remember_columns(current_user, v.record_type, chosen_columns, importing.header_map(v.record_type))
    return _result(v, result, token)


def _again(v: Any) -> Any:
    form = AgainForm()
    kept = import_files.load(form.token.data or "", current_user.id, v.model.__audit_type__)
    if kept is None or not form.validate_on_submit():
        return _gone(v)
    data, meta = kept
    chosen = {int(i): t for i, t in meta.get("chosen", {}).items()} or None
    try:
        result = import_file(v.record_type, data, meta["filename"], True, chosen=chosen,
                             remembered_columns=remembered(current_user.id, v.model.__audit_type__))
    except ImportFileError:
        return _gone(v)
    return _result(v, result, form.token.data)


def import_page(v: Any) -> Any:
    """GET: the form and accepted columns; POST: upload, the mapping step, or the good rows again."""
    require_changer()
    if not getattr(v, "may_create", True):
        abort(403)  # importing creates records: whoever may not create this type may not import it
    if request.method == "GET":
        return _page(v, ImportForm())
    step = request.form.get("step")
    if step == "map":
        return _mapped(v)
    if step == "again":
        return _again(v)
    return _upload(v)
