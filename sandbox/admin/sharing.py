"""Sharing modes per class per record type, and sharing groups."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..boundary import attempt
from ..extensions import db
from ..i18n import N_
from ..numbers import db_id
from ..oplog import current_actor
from ..org.models import (
    SHARING_TYPES,
    Position,
    SharingGroup,
    SharingGroupMember,
    SharingMode,
    SharingModeValue,
    Status,
    User,
)
from ..org.scope import managed_classes, manages
from ..org.services import (
    add_group_member,
    create_group,
    delete_group,
    remove_group_member,
    set_sharing_mode,
)
from ..records.forms import ConfirmForm
from . import bp
from .common import as_id
from .forms import GroupForm, MemberForm

TYPE_LABELS = {
    "lead": N_("Leads"), "account": N_("Accounts and contacts"), "opportunity": N_("Opportunities"),
    "document": N_("Documents"), "case": N_("Service cases"), "campaign": N_("Campaigns"),
}
MODE_LABELS = {"private": N_("Private"), "read_only": N_("Read-only for the class"), "read_write": N_("Read-write for the class")}


def _class_or_404(class_id: int | None) -> Position:
    classes = managed_classes(current_actor())
    if class_id is None and classes:
        return classes[0]
    klass = db.session.get(Position, as_id(class_id))
    if klass is None or klass.kind != "class" or not manages(current_actor(), klass):
        abort(404)
    return klass


def _group_or_404(group_id: int) -> SharingGroup:
    group = db.session.get(SharingGroup, group_id)
    if group is None or not manages(current_actor(), db.session.get(Position, group.class_id)):
        abort(404)
    return group


def _save_modes(klass: Position) -> None:
    """Set each record type's sharing mode in `klass` as the form says (only the ones that change)."""
    current = dict(db.session.execute(
        select(SharingMode.record_type, SharingMode.mode).where(SharingMode.class_id == klass.id)).all())
    for record_type in SHARING_TYPES:
        mode = request.form.get(f"mode_{record_type}", SharingModeValue.PRIVATE)
        if current.get(record_type, SharingModeValue.PRIVATE) != mode:
            set_sharing_mode(current_actor(), klass, record_type, mode)


@bp.route("/sharing", methods=["GET", "POST"])
def sharing() -> Any:
    """A class's sharing modes and groups; a POST saves the modes."""
    classes = managed_classes(current_actor())
    if not classes:
        return render_template("admin/sharing.html", klass=None, classes=[])
    klass = _class_or_404(request.values.get("class_id", type=db_id))
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        with attempt() as outcome:
            _save_modes(klass)
        if not outcome.failed:
            flash(_("Sharing modes saved for %(c)s.", c=klass.name), "success")
        return redirect(url_for("admin.sharing", class_id=klass.id))
    modes = dict(db.session.execute(
        select(SharingMode.record_type, SharingMode.mode).where(SharingMode.class_id == klass.id)).all())
    groups = list(db.session.scalars(select(SharingGroup).where(SharingGroup.class_id == klass.id).order_by(SharingGroup.name)))
    students = list(db.session.scalars(
        select(User).where(User.class_id == klass.id, User.status == Status.ACTIVE).order_by(User.display_name)))
    group_form = GroupForm()
    group_form.class_id.choices = [(c.id, c.name) for c in classes]
    group_form.class_id.data = klass.id
    member_form = MemberForm()
    member_form.user_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in students]
    return render_template(
        "admin/sharing.html", klass=klass, classes=classes, modes=modes, types=SHARING_TYPES, labels=TYPE_LABELS,
        values=list(SharingModeValue), mode_labels=MODE_LABELS, groups=groups, group_form=group_form, member_form=member_form,
        confirm=ConfirmForm(),
    )


@bp.post("/sharing/groups")
def group_create() -> Any:
    """Create a sharing group in one of the actor's classes."""
    form = GroupForm()
    form.class_id.choices = [(c.id, c.name) for c in managed_classes(current_actor())]
    klass = None
    if form.validate_on_submit():
        klass = _class_or_404(form.class_id.data)
        with attempt() as outcome:
            create_group(current_actor(), klass, form.name.data)
        if not outcome.failed:
            flash(_("Sharing group created."), "success")
    elif form.class_id.errors:
        flash(_("Choose one of your classes."), "danger")
    else:
        flash(_("Give the group a name."), "danger")
    return redirect(url_for("admin.sharing", class_id=klass.id if klass else None))


@bp.post("/sharing/groups/<int:group_id>/members")
def group_add_member(group_id: int) -> Any:
    """Add an active user of the group's class to the group."""
    group = _group_or_404(group_id)
    form = MemberForm()
    user = db.session.get(User, as_id(request.form.get("user_id", type=db_id)))
    if not ConfirmForm().validate_on_submit() or user is None:
        flash(_("Choose a student of this class."), "danger")
        return redirect(url_for("admin.sharing", class_id=group.class_id))
    del form
    with attempt() as outcome:
        add_group_member(current_actor(), group, user)
    if not outcome.failed:
        flash(_("%(name)s joined %(group)s.", name=user.display_name, group=group.name), "success")
    return redirect(url_for("admin.sharing", class_id=group.class_id))


@bp.post("/sharing/members/<int:member_id>/remove")
def group_remove_member(member_id: int) -> Any:
    """Remove one member from a sharing group."""
    member = db.session.get(SharingGroupMember, member_id)
    if member is None:
        abort(404)
    group = _group_or_404(member.group_id)
    if ConfirmForm().validate_on_submit():
        remove_group_member(current_actor(), member)
        flash(_("Member removed."), "success")
    return redirect(url_for("admin.sharing", class_id=group.class_id))


@bp.post("/sharing/groups/<int:group_id>/delete")
def group_delete(group_id: int) -> Any:
    """Delete a sharing group and its memberships."""
    group = _group_or_404(group_id)
    class_id = group.class_id
    if ConfirmForm().validate_on_submit():
        delete_group(current_actor(), group)
        flash(_("Sharing group deleted."), "success")
    return redirect(url_for("admin.sharing", class_id=class_id))
