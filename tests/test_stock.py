"""Spare-parts stock pages (issue 11): movements on the product page, never below zero, the low-stock alarm."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.products import stock
from sandbox.products.models import Product, StockLevel, StockMovement
from tests import helpers
from tests.conftest import act_as


def levels(product: Product) -> dict[str, int]:
    db.session.expire_all()
    return {lv.location: lv.quantity for lv in db.session.scalars(
        select(StockLevel).where(StockLevel.product_id == product.id))}


def on_hand(product: Product) -> int:
    db.session.expire_all()
    return db.session.scalars(select(Product.stock_on_hand).where(Product.id == product.id)
                              .execution_options(skip_visibility=True)).one()


def make(create_product: Any, classroom: Any, **fields: Any) -> Product:
    return create_product(classroom.user("teacher"), class_id=classroom.classes["A"].id, **fields)


def move(client: Any, product: Product, **data: Any) -> Any:
    return client.post(f"/products/{product.id}/stock", data={"note": "", **{k: str(v) for k, v in data.items()}})


def test_instructor_moves_stock_in_out_and_between_locations(app, classroom, create_product):
    valve = make(create_product, classroom, name="Valve", reorder_level=3)
    teacher = classroom.client_for(app, "teacher")
    assert move(teacher, valve, kind="in", quantity=10, to_location="main").status_code == 302
    assert move(teacher, valve, kind="transfer", quantity=4, from_location="main", to_location="van 1").status_code == 302
    assert move(teacher, valve, kind="out", quantity=3, from_location="van 1", note="site visit").status_code == 302
    assert levels(valve) == {"main": 6, "van 1": 1}
    assert on_hand(valve) == 7
    # Each movement keeps only the locations it uses, whatever else the form sent.
    move(teacher, valve, kind="in", quantity=1, from_location="ignored", to_location="main")
    kept = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.kind, m.from_location, m.to_location) for m in kept] == [
        ("in", None, "main"), ("transfer", "main", "van 1"), ("out", "van 1", None), ("in", None, "main")]
    move(teacher, valve, kind="out", quantity=1, from_location="main")
    logged = helpers.entries("stock.move")
    assert [(e.object_id, e.params["kind"], e.params["quantity"]) for e in logged] == [
        (valve.id, "in", 10), (valve.id, "transfer", 4), (valve.id, "out", 3), (valve.id, "in", 1), (valve.id, "out", 1)]
    page = helpers.text(teacher.get(f"/products/{valve.id}?lang=en"))
    assert "van 1" in page and "site visit" in page and "Record movement" in page
    # The whole class reads the stock; a student has no movement form and cannot post one.
    student = classroom.client_for(app, "studentA")
    page = helpers.text(student.get(f"/products/{valve.id}?lang=en"))
    assert "van 1" in page and "Record movement" not in page
    assert move(student, valve, kind="in", quantity=5, to_location="main").status_code == 403
    assert classroom.client_for(app, "readonlyA").post(f"/products/{valve.id}/stock", data={}).status_code == 403
    assert move(classroom.client_for(app, "teacher2"), valve, kind="in", quantity=5, to_location="main").status_code == 404
    assert move(teacher, valve, kind="in", quantity=5, to_location="main").status_code == 302
    assert on_hand(valve) == 12


def test_below_zero_is_refused_next_to_the_field_and_nothing_changes(app, classroom, create_product):
    pipe = make(create_product, classroom, name="Pipe")
    teacher = classroom.client_for(app, "teacher")
    move(teacher, pipe, kind="in", quantity=2, to_location="main")
    before = (levels(pipe), on_hand(pipe), helpers.count(StockMovement))
    response = move(teacher, pipe, kind="out", quantity=3, from_location="main")
    assert response.status_code == 400
    error = helpers.field_error(helpers.text(response), "quantity")
    assert "below zero" in error or "低于零" in error or "不能" in error
    assert (levels(pipe), on_hand(pipe), helpers.count(StockMovement)) == before
    # A transfer from an empty location, to the same location, without a location, with a bad quantity.
    assert move(teacher, pipe, kind="transfer", quantity=1, from_location="van", to_location="main").status_code == 400
    page = helpers.text(move(teacher, pipe, kind="transfer", quantity=1, from_location="main", to_location="main"))
    assert helpers.field_error(page, "to_location")
    page = helpers.text(move(teacher, pipe, kind="in", quantity=1, to_location="  "))
    assert helpers.field_error(page, "to_location")
    for bad in ("0", "-1", "abc", "2.5", "99999999999"):
        response = move(teacher, pipe, kind="in", quantity=bad, to_location="main")
        assert response.status_code == 400, bad
        assert helpers.field_error(helpers.text(response), "quantity"), bad
    assert move(teacher, pipe, kind="sideways", quantity=1, to_location="main").status_code == 400
    assert (levels(pipe), on_hand(pipe), helpers.count(StockMovement)) == before
    assert len(helpers.entries("stock.move")) == 1


def test_opening_stock_from_the_product_form_is_placed_in_the_main_store(app, classroom, create_product):
    gasket = make(create_product, classroom, name="Gasket", stock_on_hand=5)
    teacher = classroom.client_for(app, "teacher")
    assert "Not yet at a location" in helpers.text(teacher.get(f"/products/{gasket.id}?lang=en"))
    assert move(teacher, gasket, kind="out", quantity=2, from_location="main").status_code == 302
    assert levels(gasket) == {"main": 3} and on_hand(gasket) == 3


def test_parts_consumed_inside_an_operation(app, classroom, create_product):
    from sandbox.oplog import operation

    part = make(create_product, classroom, name="Seal")

    @operation("stock.move")
    def receive_and_consume() -> None:
        stock._apply(part, stock.IN, 4, None, "main", None, None, None)
        stock.consume_parts(db.session.get(Product, part.id), 3, case_id=77)

    act_as(classroom.user("teacher"))
    receive_and_consume()
    db.session.commit()
    act_as(None)
    assert levels(part) == {"main": 1}
    assert db.session.scalars(select(StockMovement.case_id).where(StockMovement.kind == "out")).one() == 77


def test_low_stock_alarm_is_class_wide(app, classroom, create_product):
    make(create_product, classroom, name="Short valve", stock_on_hand=1, reorder_level=5)
    make(create_product, classroom, name="Plenty", stock_on_hand=9, reorder_level=5)
    make(create_product, classroom, name="Retired", stock_on_hand=0, reorder_level=5, active=False)
    create_product(classroom.user("teacher2"), class_id=classroom.classes["C"].id, name="C short", stock_on_hand=0,
                   reorder_level=2)
    page = helpers.text(classroom.client_for(app, "studentA").get("/products/low-stock?lang=en"))
    assert "Short valve" in page and 'data-testid="low-stock-count">1<' in page
    assert "Plenty" not in page and "Retired" not in page and "C short" not in page
    assert ">4<" in page  # short by 5 - 1
    listing = helpers.text(classroom.client_for(app, "studentA").get("/products/?lang=en"))
    assert 'data-testid="low-stock-badge">1<' in listing and "/products/low-stock" in listing
    teacher2 = helpers.text(classroom.client_for(app, "teacher2").get("/products/low-stock"))
    assert "C short" in teacher2 and "Short valve" not in teacher2
    assert classroom.client_for(app, "teacher").get("/products/low-stock").status_code == 200


def test_once_stock_lies_at_locations_the_product_form_cannot_retype_the_total(app, classroom):
    """The total is the sum of the locations: editing it on the product form is refused next to the field."""
    from sandbox.products.models import Product
    from sandbox.products.services import create_product, update_product
    from sandbox.products.stock import move_stock
    from sandbox.records.services import RecordError
    from tests.conftest import act_as

    teacher = classroom.user("teacher")
    act_as(teacher)
    base = {"class_id": classroom.classes["A"].id, "code": "V-9", "name": "Valve", "list_price": 10,
            "stock_on_hand": 0, "reorder_level": 0, "active": True}
    product = create_product(Product, base)
    db.session.commit()
    act_as(teacher)
    update_product(product, {**base, "stock_on_hand": 5})  # no locations yet: the opening stock may be typed
    db.session.commit()
    act_as(teacher)
    move_stock(product, "in", 3, to_location="van 1")
    db.session.commit()
    act_as(teacher)
    with pytest.raises(RecordError) as refused:
        update_product(product, {**base, "stock_on_hand": 2})
    assert refused.value.field == "stock_on_hand"
    db.session.rollback()
    act_as(teacher)
    update_product(product, {**base, "stock_on_hand": 8, "name": "Valve renamed"})  # the same total: other fields save
    db.session.commit()
    assert (product.name, product.stock_on_hand) == ("Valve renamed", 8)
