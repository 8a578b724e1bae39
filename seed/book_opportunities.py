"""A student's opportunity with its stage history, product lines, competitors and contact roles."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .names import short_product
from .odds import DISCOUNTS, LOST, STAGE_PROBABILITY, WON

if TYPE_CHECKING:
    from .book import AccountInfo, Book
    from .schema import Product

CENT = Decimal("0.01")


def _stage_path(book: Book, stage: str) -> list[str]:
    """The stages an opportunity went through to reach `stage` (open stages in their code-table order)."""
    order = [c for c in book.s.codes["opportunity_stage"] if c not in (WON, LOST)] or [stage]
    if stage == WON:
        return [*order, WON]
    if stage == LOST:
        return [*order[: book.rng.int(1, len(order))], LOST]
    return order[: order.index(stage) + 1] if stage in order else [stage]


def _history(book: Book, key: str, path: list[str], created: datetime) -> datetime:
    """Stage history rows spread between creation and the run start; returns the last change."""
    span = max(60.0, (book.s.now - created).total_seconds() - 3600)
    marks = sorted(book.rng.random() * 0.9 for _ in path[1:])
    at, before = created, None
    for stage, mark in zip(path, [0.0, *marks], strict=True):
        at = created + timedelta(seconds=int(span * mark))
        book.rows["opportunity_stage_history"].append({
            "opportunity_ref": key, "from_stage": before, "to_stage": stage, "changed_by_id": book.user,
            "changed_at": at})
        before = stage
    return at


def _lines(book: Book, key: str, products: list[Product], created: datetime) -> tuple[Decimal, Product] | None:
    """Product lines sized like real orders; returns their total and the main product (None without lines)."""
    rng, low_high = book.rng, book.volumes.opportunities.lines
    count = min(rng.int(*low_high), len(products))
    if not count:
        return None
    total, main, biggest = Decimal("0"), products[0], Decimal("-1")
    for product in rng.sample(products, count):
        if product.order_quantity:
            quantity = round(book.scale(product.order_quantity[0] or 1, product.order_quantity[1] + 0.99) - 0.49)
        else:
            value = book.scale(*book.volumes.opportunities.line_value)
            quantity = max(1, min(9999, round(value / float(product.list_price or 1))))
        discount = Decimal(rng.choice(DISCOUNTS))
        line = (product.list_price * quantity * (100 - discount) / 100).quantize(CENT)
        total += line
        if line > biggest:
            main, biggest = product, line
        book.rows["opportunity_lines"].append({
            "opportunity_ref": key, "product_ref": f"product:{product.code}", "quantity": Decimal(quantity).quantize(CENT),
            "unit_price": product.list_price, "discount": discount.quantize(CENT), "total": line, "created_at": created})
    return total, main


def _parties(book: Book, key: str, account: AccountInfo, created: datetime) -> None:
    rng, volume = book.rng, book.volumes.opportunities
    count = min(rng.int(*volume.competitors), len(book.s.competitors))
    for competitor in rng.sample(book.s.competitors, count):
        note = rng.choice(book.vocab.COMPETITOR_NOTES).format(n=rng.choice((5, 8, 10, 15)))
        book.rows["opportunity_competitors"].append(
            {"opportunity_ref": key, "competitor_ref": competitor, "note": note, "created_at": created})
    count = min(rng.int(*volume.contact_roles), len(account.contacts))
    roles = book.s.codes.get("contact_role") or ["other"]
    for i, (contact, _name) in enumerate(rng.sample(account.contacts, count)):
        role = "decision_maker" if i == 0 and "decision_maker" in roles else rng.choice(roles)
        book.rows["opportunity_contact_roles"].append(
            {"opportunity_ref": key, "contact_ref": contact, "role": role, "is_primary": i == 0, "created_at": created})


def add_opportunity(book: Book, n: int) -> None:
    """Append opportunity n of the student, on one of their accounts."""
    rng = book.rng
    account = rng.choice(book.accounts)
    key = f"opportunity:{book.username}:{n}"
    stage = book.pick("opportunity_stage") or "prospecting"
    created = book.past(150, 3)
    row: dict[str, Any] = book.owned(key, created)
    last = _history(book, key, _stage_path(book, stage), created)
    lines = _lines(book, key, account.market.products, created)
    if lines is None:
        low, high = book.volumes.opportunities.line_value
        amount = Decimal(round(book.scale(low * 1.5, high * 1.5), -3)).quantize(CENT)
        product, category = book.product_words(account.market)
    else:
        amount, main = lines
        product, category = short_product(main.name), main.category
    template = rng.choice(book.vocab.OPPORTUNITY_NAMES)
    name = template.format(account=account.firm.short, product=product or category, category=category or product,
                           n=rng.int(2, 4))
    closed = stage in (WON, LOST)
    extra = next((o.extra for o in book.s.scenario.codes.get("opportunity_stage", []) if o.code == stage), None) or {}
    close_date = last.date() if closed else (book.s.now + timedelta(days=rng.int(7, 120))).date()
    row.update(name=name[:200], account_ref=account.key, type=book.pick("opportunity_type"), stage=stage,
               probability=int(extra.get("probability", STAGE_PROBABILITY.get(stage, 50))), amount=amount,
               close_date=close_date, next_step=None if closed else rng.choice(book.vocab.NEXT_STEPS),
               source=book.pick("lead_source"), lost_reason=book.pick("closed_lost_reason") if stage == LOST else None,
               description=None, closed_at=last if closed else None)
    row["updated_at"] = max(row["updated_at"], last)
    book.rows["opportunities"].append(row)
    _parties(book, key, account, created)
    book.opportunities.append((key, row["name"], account))
