"""One student's book: accounts with contacts, opportunities with lines, competitors and roles, leads, activities."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .book_activities import add_activities
from .book_opportunities import add_opportunity
from .book_service import add_service
from .dice import Dice
from .names import Firm, Names
from .odds import UTC_OFFSET
from .schema import Product, Scenario

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Market:
    """A kind of customer: industry, company-name words, typical titles, and what it buys."""

    industry: str
    words: list[str]
    titles: list[str]
    products: list[Product]
    product_words: list[tuple[str, str]]  # (short product name, category)


@dataclass
class Shared:
    """What every student's book of one class uses."""

    scenario: Scenario
    names: Names
    codes: dict[str, list[str]]
    now: datetime
    competitors: list[str]
    weighted: dict[str, tuple[list[str], list[float]]]
    markets: list[Market]
    market_weights: list[float]


@dataclass
class AccountInfo:
    """What later records of the book need to know about an account."""

    key: str
    firm: Firm
    market: Market
    address: str
    contacts: list[tuple[str, str]] = field(default_factory=list)  # (key, name)

    def contact_name(self) -> str:
        """The main contact's name (the company's when it has none)."""
        return self.contacts[0][1] if self.contacts else self.firm.short


def _cents(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class Book:
    """Builds one roster member's rows into `rows` (the tables of generate())."""

    def __init__(self, shared: Shared, member: dict[str, Any], rng: Dice,
                 rows: dict[str, list[dict[str, Any]]]) -> None:
        self.s, self.rng, self.rows = shared, rng, rows
        self.user, self.class_id, self.username = member["user_id"], member["class_id"], member["username"]
        self.vocab = shared.names.vocab
        self.volumes = shared.scenario.volumes.per_student
        self.taken: set[str] = set()
        self.accounts: list[AccountInfo] = []
        self.opportunities: list[tuple[str, str, AccountInfo]] = []  # (key, name, account)
        self.leads: list[tuple[str, str, str]] = []  # (key, person, company)

    # -- helpers -------------------------------------------------------------------------------------------
    def pick(self, table: str) -> str | None:
        """A code of `table`, weighted like a real book."""
        entry = self.s.weighted.get(table)
        return self.rng.weighted(*entry) if entry else None

    def past(self, max_days: int, min_days: int = 0) -> datetime:
        """A time during office hours between `max_days` and `min_days` days before the run started."""
        now = self.s.now
        day = now.date() - timedelta(days=self.rng.int(min_days, max_days))
        hour = (self.rng.int(9, 17) - UTC_OFFSET[self.s.scenario.language]) % 24
        at = datetime(day.year, day.month, day.day, hour, self.rng.int(0, 59), self.rng.int(0, 59))
        return at if at < now else at - timedelta(days=1)

    def owned(self, key: str, created: datetime) -> dict[str, Any]:
        """The Owned columns of a new row of this student."""
        room = max(0.0, (self.s.now - created).total_seconds() - 60)
        updated = created + timedelta(seconds=int(self.rng.random() ** 3 * min(room, 20 * 86400)))
        return {"key": key, "owner_id": self.user, "class_id": self.class_id, "created_by_id": self.user,
                "created_at": created, "updated_at": updated, "deleted_at": None, "version": 1}

    def market(self) -> Market:
        """A market, drawn by the scenario's weights."""
        return self.rng.weighted(self.s.markets, self.s.market_weights)

    def firm(self, words: list[str]) -> Firm:
        """A company name this student has not used yet."""
        for _attempt in range(50):
            firm = self.s.names.firm(self.rng, words)
            if firm.name not in self.taken:
                break
        self.taken.add(firm.name)
        return firm

    def role(self, titles: list[str], senior: bool) -> tuple[str | None, str]:
        """(department, title): a segment's own title now and then, else a generic one."""
        if titles and not senior and self.rng.random() < 0.4:
            dept, _, title = self.rng.choice(titles).rpartition("/")
            return dept or None, title
        pool = self.vocab.CONTACT_ROLES[: self.vocab.SENIOR] if senior else self.vocab.CONTACT_ROLES[self.vocab.SENIOR:]
        return self.rng.choice(pool)

    def scale(self, low: float, high: float) -> float:
        """Log-uniform between low and high (company sizes and deal sizes spread over magnitudes)."""
        return math.exp(self.rng.uniform(math.log(low), math.log(high)))

    def product_words(self, market: Market) -> tuple[str, str]:
        """A product the market buys, as (short name, category) to write about (empty without products)."""
        return self.rng.choice(market.product_words) if market.product_words else ("", "")

    # -- records -------------------------------------------------------------------------------------------
    def build(self) -> None:
        """Append this student's rows to every table."""
        for n in range(1, self.volumes.accounts + 1):
            self.account(n)
        for n in range(1, self.volumes.opportunities.count + 1):
            add_opportunity(self, n)
        for n in range(1, self.volumes.leads + 1):
            self.lead(n)
        add_activities(self)
        add_service(self)

    def account(self, n: int) -> None:
        """Add account `n` with its contacts."""
        market = self.market()
        firm, rng, names = self.firm(market.words), self.rng, self.s.names
        key = f"account:{self.username}:{n}"
        address = names.address(rng, firm.place)
        row = self.owned(key, self.past(400, 30))
        row.update(name=firm.name, type=self.pick("account_type"), industry=market.industry, rating=self.pick("rating"),
                   level=self.pick("account_level"), ownership=self.pick("ownership"), source=self.pick("lead_source"),
                   phone=names.landline(rng, firm.place),
                   fax=names.landline(rng, firm.place) if rng.random() < 0.3 else None,
                   email=f"{rng.choice(('info', 'sales', 'service', 'office'))}@{firm.domain}",
                   website=f"www.{firm.domain}", billing_address=address,
                   shipping_address=address if rng.random() < 0.7 else names.address(rng, firm.place),
                   employees=int(self.scale(8, 3000)), annual_revenue=_cents(round(self.scale(1e6, 5e8), -4)),
                   parent_ref=None, tags=None,
                   description=rng.choice(self.vocab.ACCOUNT_NOTES) if rng.random() < 0.5 else None)
        self.rows["accounts"].append(row)
        info = AccountInfo(key, firm, market, address)
        low, high = self.volumes.contacts_per_account
        for i in range(1, rng.int(low, high) + 1):
            info.contacts.append(self.contact(f"contact:{self.username}:{n}.{i}", info, row))
        self.accounts.append(info)

    def contact(self, key: str, info: AccountInfo, account_row: dict[str, Any]) -> tuple[str, str]:
        """Add a contact of the account; its (name, e-mail local part)."""
        rng, names, firm, peers = self.rng, self.s.names, info.firm, info.contacts
        name, local = names.person(rng)
        dept, title = self.role(info.market.titles, senior=not peers)
        age = rng.int(26, 58)
        row = self.owned(key, account_row["created_at"] + timedelta(days=rng.int(0, 20)))
        if row["created_at"] >= self.s.now:
            row["created_at"] = row["updated_at"] = account_row["created_at"]
        row.update(name=name, account_ref=info.key, title=title, department=dept,
                   phone=f"{account_row['phone']}" + (f"-{rng.int(801, 899)}" if names.zh else f" x{rng.int(100, 499)}"),
                   mobile=names.mobile(rng, firm.place), email=f"{local}@{firm.domain}",
                   birthday=date(self.s.now.year - age, rng.int(1, 12), rng.int(1, 28)) if rng.random() < 0.6 else None,
                   address=account_row["billing_address"], contact_method=self.pick("contact_method"),
                   reports_to_ref=peers[0][0] if peers else None, source=account_row["source"], description=None)
        self.rows["contacts"].append(row)
        return key, name

    def lead(self, n: int) -> None:
        """Add lead `n`."""
        market = self.market()
        firm, rng, names = self.firm(market.words), self.rng, self.s.names
        name, local = names.person(rng)
        source = self.pick("lead_source") or "other"
        product, category = self.product_words(market)
        notes = self.vocab.LEAD_NOTES.get(source, self.vocab.LEAD_NOTES["other"])
        referrer = rng.choice(self.accounts).firm.short if self.accounts else firm.short
        row = self.owned(f"lead:{self.username}:{n}", self.past(90))
        row.update(name=name, company=firm.name, title=self.role(market.titles, senior=rng.random() < 0.3)[1],
                   phone=names.landline(rng, firm.place), mobile=names.mobile(rng, firm.place) if rng.random() < 0.8 else None,
                   email=f"{local}@{firm.domain}" if rng.random() < 0.7 else names.free_email(rng, local),
                   website=f"www.{firm.domain}" if rng.random() < 0.6 else None,
                   address=names.address(rng, firm.place) if rng.random() < 0.7 else None, industry=market.industry,
                   source=source, status=self.pick("lead_status"), rating=self.pick("rating"),
                   annual_revenue=_cents(round(self.scale(5e5, 2e8), -4)) if rng.random() < 0.6 else None,
                   employees=int(self.scale(5, 2000)) if rng.random() < 0.6 else None,
                   description=rng.choice(notes).format(product=product, category=category, ref=referrer),
                   converted_at=None, converted_account_id=None, converted_contact_id=None, converted_opportunity_id=None)
        self.rows["leads"].append(row)
        self.leads.append((row["key"], name, firm.short))
