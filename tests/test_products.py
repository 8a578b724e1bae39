"""Products and their categories (SPEC §5.6): instructors maintain them, the class reads them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.products.models import Product, ProductCategory
from sandbox.products.services import create_category, create_product
from sandbox.records.services import RecordError
from tests.conftest import act_as


def make_product(classroom: Any, klass: str = "A", code: str = "P-100", by: str = "teacher", **fields: Any) -> Product:
    act_as(classroom.user(by))
    data = {"class_id": classroom.classes[klass].id, "code": code, "name": f"Product {code}",
            "list_price": Decimal("100.00"), "active": True, **fields}
    product = create_product(Product, data)
    db.session.commit()
    act_as(None)
    return product


def make_category(classroom: Any, name: str, klass: str = "A", parent: ProductCategory | None = None,
                  by: str = "teacher") -> ProductCategory:
    act_as(classroom.user(by))
    category = create_category(classroom.classes[klass].id, name, parent.id if parent else None)
    db.session.commit()
    act_as(None)
    return category


def form(classroom: Any, klass: str = "A", **fields: Any) -> dict[str, str]:
    data = {"class_id": str(classroom.classes[klass].id), "code": "NB-1", "name": "Notebook", "list_price": "4999",
            "stock_on_hand": "3", "reorder_level": "5", "active": "y", "unit": "pcs"}
    data.update({k: str(v) for k, v in fields.items()})
    return data


def reload(ident: int) -> Product:
    return db.session.scalars(select(Product).where(Product.id == ident).execution_options(
        skip_visibility=True, include_deleted=True, populate_existing=True)).one()


def products(*where: Any) -> int:
    stmt = select(func.count()).select_from(Product).where(*where).execution_options(skip_visibility=True)
    return db.session.scalar(stmt)


def test_instructor_creates_a_product_for_a_class_they_manage(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/products/new", data=form(classroom))
    assert response.status_code == 302, response.data[:2000]
    product = db.session.scalars(select(Product).execution_options(skip_visibility=True)).one()
    assert product.class_id == classroom.classes["A"].id
    assert product.owner_id == classroom.user("teacher").id
    assert (product.list_price, product.stock_on_hand, product.unit) == (Decimal("4999.00"), 3, "pcs")
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "product.create")).one()
    assert entry.class_id == classroom.classes["A"].id and entry.object_id == product.id
    # The instructor edits it (instructors above the class write its records).
    page = teacher.get(f"/products/{product.id}/edit")
    assert page.status_code == 200
    response = teacher.post(f"/products/{product.id}/edit", data=form(classroom, name="Notebook Pro", version="1"))
    assert response.status_code == 302
    assert reload(product.id).name == "Notebook Pro"


def test_students_read_and_pick_but_never_maintain(app, classroom):
    product = make_product(classroom)
    for name in ("studentA", "managerA", "readonlyA"):
        client = classroom.client_for(app, name)
        assert client.get(f"/products/{product.id}").status_code == 200
        assert client.get("/products/new").status_code == 403
        assert client.post("/products/new", data=form(classroom, code="X-1")).status_code == 403
        assert client.post(f"/products/{product.id}/edit", data=form(classroom, name="Hacked", version="1")).status_code == 403
        assert client.post(f"/products/{product.id}/delete").status_code == 403
        assert client.get(f"/products/{product.id}/clone").status_code == 403
        listing = client.get("/products/").get_data(as_text=True)
        assert "Product P-100" in listing and 'data-testid="new-record"' not in listing
        assert client.get("/products/categories").status_code == 403
    assert products() == 1
    assert reload(product.id).name == "Product P-100"
    assert reload(product.id).deleted_at is None


def test_other_classes_do_not_see_the_product(app, classroom):
    product = make_product(classroom)
    for name in ("studentB", "studentC", "teacher2"):
        client = classroom.client_for(app, name)
        assert client.get(f"/products/{product.id}").status_code == 404
        assert "Product P-100" not in client.get("/products/").get_data(as_text=True)
    teacher2 = classroom.client_for(app, "teacher2")
    assert teacher2.post(f"/products/{product.id}/edit", data=form(classroom, version="1")).status_code == 404


def test_code_is_unique_per_class(app, classroom):
    make_product(classroom, code="NB-1")
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/products/new?lang=en", data=form(classroom, code="nb-1"))
    assert response.status_code == 400
    assert "taken by another product of this class" in response.get_data(as_text=True)
    assert products() == 1
    # The same code in another class is another product.
    assert teacher.post("/products/new", data=form(classroom, klass="B", code="NB-1")).status_code == 302
    assert products() == 2


def test_a_deleted_products_code_stays_taken(app, classroom):
    product = make_product(classroom, code="OLD-1")
    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/products/{product.id}/delete").status_code == 302
    response = teacher.post("/products/new?lang=en", data=form(classroom, code="OLD-1"))
    assert response.status_code == 400 and "recycle bin" in response.get_data(as_text=True)


@pytest.mark.parametrize("field,value", [("list_price", "-1"), ("cost", "-0.01"), ("stock_on_hand", "-3"),
                                         ("reorder_level", "-1"), ("list_price", "abc"), ("code", "")])
def test_bad_inputs_get_messages_and_save_nothing(app, classroom, field, value):
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/products/new?lang=en", data=form(classroom, **{field: value}))
    assert response.status_code in (200, 400)  # the form again, with its message (nothing saved)
    assert 'class="invalid-feedback' in response.get_data(as_text=True)
    assert products() == 0


def test_instructor_cannot_put_a_product_in_another_instructors_class(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/products/new", data=form(classroom, klass="C"))
    assert response.status_code in (200, 400) and b"invalid-feedback" in response.data
    assert products() == 0
    act_as(classroom.user("teacher"))
    with pytest.raises(RecordError):
        create_product(Product, {"class_id": classroom.classes["C"].id, "code": "Z", "name": "Z",
                                 "list_price": Decimal("1")})
    db.session.rollback()
    act_as(None)


def test_low_stock_alert_lists_products_under_their_reorder_level(app, classroom):
    make_product(classroom, code="LOW-1", stock_on_hand=2, reorder_level=10)
    make_product(classroom, code="OK-1", stock_on_hand=20, reorder_level=10)
    make_product(classroom, code="OFF-1", stock_on_hand=0, reorder_level=10, active=False)
    make_product(classroom, klass="B", code="LOW-B", stock_on_hand=0, reorder_level=10)
    page = classroom.client_for(app, "studentA").get("/products/?lang=en").get_data(as_text=True)
    alert = page.split('data-testid="low-stock"')[1].split("</ul>")[0]
    assert "LOW-1" in alert and "OK-1" not in alert and "OFF-1" not in alert and "LOW-B" not in alert
    detail = classroom.client_for(app, "studentA").get(
        f"/products/{db.session.scalar(select(Product.id).where(Product.code == 'LOW-1'))}")
    assert 'data-testid="low-stock"' in detail.get_data(as_text=True)


def test_categories_form_a_tree_per_class(app, classroom):
    hardware = make_category(classroom, "Hardware")
    laptops = make_category(classroom, "Laptops", parent=hardware)
    assert laptops.class_id == classroom.classes["A"].id
    product = make_product(classroom, category_id=laptops.id)
    page = classroom.client_for(app, "studentA").get(f"/products/{product.id}").get_data(as_text=True)
    assert "Hardware / Laptops" in page
    teacher = classroom.client_for(app, "teacher")
    tree = teacher.get("/products/categories").get_data(as_text=True)
    assert "Hardware" in tree and "Laptops" in tree
    # A category of class A cannot hold a product of class B.
    response = teacher.post("/products/new", data=form(classroom, klass="B", code="B-1", category_id=laptops.id))
    assert response.status_code in (200, 400) and b"invalid-feedback" in response.data
    assert products(Product.code == "B-1") == 0
    # No cycles; no deleting a category that still holds products or subcategories.
    response = teacher.post(f"/products/categories/{hardware.id}?lang=en",
                            data={"name": "Hardware", "parent_id": str(laptops.id)})
    assert response.status_code == 400 and "under itself" in response.get_data(as_text=True)
    assert teacher.post(f"/products/categories/{hardware.id}/delete").status_code == 302
    assert teacher.post(f"/products/categories/{laptops.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ProductCategory)) == 2
    # Add through the page.
    response = teacher.post("/products/categories", data={"name": "Services", "class_id": str(classroom.classes["A"].id)})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ProductCategory)) == 3


def test_categories_are_scoped_to_the_instructors_classes(app, classroom):
    category = make_category(classroom, "Hardware")
    teacher2 = classroom.client_for(app, "teacher2")
    assert teacher2.get(f"/products/categories/{category.id}").status_code == 404
    assert teacher2.post(f"/products/categories/{category.id}/delete").status_code == 404
    assert "Hardware" not in teacher2.get("/products/categories").get_data(as_text=True)
    response = teacher2.post("/products/categories", data={"name": "Sneaky", "class_id": str(classroom.classes["A"].id)})
    assert response.status_code == 400
    student = classroom.client_for(app, "studentA")
    assert student.post(f"/products/categories/{category.id}/delete").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ProductCategory)) == 1


def test_a_product_transferred_to_a_student_stays_staff_maintained(app, classroom):
    product = make_product(classroom)
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post(f"/products/{product.id}/transfer", data={"owner_id": str(classroom.user("studentA").id)})
    assert response.status_code == 302
    student = classroom.client_for(app, "studentA")
    response = student.post(f"/products/{product.id}/edit?lang=en", data=form(classroom, name="Mine now", version="2"))
    assert response.status_code in (302, 400)  # refused with a message, never a 500
    assert reload(product.id).name == "Product P-100"


# ---- the request boundary and the viewer's class sets (issue 8) ---------------------------------------

def test_a_taken_category_name_is_refused_by_the_name_field_and_saves_nothing(app, classroom):
    from tests.test_opportunity_boundary import field_feedback, table_counts

    make_category(classroom, "Hardware")
    teacher = classroom.client_for(app, "teacher")
    before = table_counts()
    response = teacher.post("/products/categories?lang=en", data={
        "name": "hardware", "parent_id": "0", "class_id": str(classroom.classes["A"].id)})
    assert response.status_code == 400
    assert "A category of this name exists already at this place." in field_feedback(
        response.get_data(as_text=True), "name")
    assert table_counts() == before


def test_a_refused_category_create_after_its_work_leaves_nothing(app, classroom, monkeypatch):
    from sandbox.products import services
    from tests.test_opportunity_boundary import REFUSAL, field_feedback, refuse_after, table_counts

    teacher = classroom.client_for(app, "teacher")
    before = table_counts()
    refuse_after(monkeypatch, services, "create_category")  # no field: shown by the name field
    response = teacher.post("/products/categories?lang=en", data={
        "name": "Software", "parent_id": "0", "class_id": str(classroom.classes["A"].id)})
    assert response.status_code == 400
    assert REFUSAL in field_feedback(response.get_data(as_text=True), "name")
    assert table_counts() == before


def test_moving_a_category_under_its_own_child_is_refused_by_the_parent_field(app, classroom):
    from tests.test_opportunity_boundary import field_feedback, table_counts

    top = make_category(classroom, "Hardware")
    child = make_category(classroom, "Laptops", parent=top)
    teacher = classroom.client_for(app, "teacher")
    before = table_counts()
    response = teacher.post(f"/products/categories/{top.id}?lang=en", data={"name": "Hardware",
                                                                             "parent_id": str(child.id)})
    assert response.status_code == 400
    assert "cannot be placed under itself or its own subcategory" in field_feedback(
        response.get_data(as_text=True), "parent_id")
    assert table_counts() == before
    assert db.session.get(ProductCategory, top.id).parent_id is None


def test_deleting_a_category_that_holds_products_is_flashed_and_deletes_nothing(app, classroom):
    from tests.test_opportunity_boundary import table_counts

    category = make_category(classroom, "Hardware")
    make_product(classroom, category_id=category.id)
    teacher = classroom.client_for(app, "teacher")
    before = table_counts()
    response = teacher.post(f"/products/categories/{category.id}/delete?lang=en")
    assert response.status_code == 302
    assert table_counts() == before
    page = teacher.get("/products/categories?lang=en").get_data(as_text=True)
    assert "still holds products; move them to another category first." in page


def test_a_get_on_every_product_page_writes_nothing(app, classroom, make_lead):
    from tests.test_opportunity_boundary import assert_gets_write_nothing

    assert_gets_write_nothing(app, classroom, make_lead, "products.")


@pytest.mark.parametrize("who,managed,readable", [
    ("teacher", "AB", "AB"), ("teacher2", "C", "C"), ("studentA", "", "A"), ("readonlyA", "", "A"),
    ("managerA", "", "A"), ("admin", "ABC", "ABC"),
])
def test_the_catalogue_follows_the_viewers_class_sets(app, classroom, who, managed, readable):
    from sandbox import access
    from sandbox.products.services import managed_class_ids, readable_class_ids

    viewer = access.viewer_for(classroom.user(who))
    ids = {key: klass.id for key, klass in classroom.classes.items()}
    assert managed_class_ids(viewer) == {ids[k] for k in managed} == set(viewer.managed_class_ids)
    assert readable_class_ids(viewer) == {ids[k] for k in readable}
    # The system viewer is no instructor: it maintains and reads no catalogue through these sets (fails closed).
    assert managed_class_ids(access.SYSTEM) == set() and readable_class_ids(access.SYSTEM) == set()
