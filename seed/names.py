"""People, companies, addresses and phone numbers that look real for the scenario's locale.

Surname and first-name frequencies come from Faker's locale providers (read once, not through a Faker
instance: calling Faker per record is ~100x slower); the rest is composed from seed/vocab_<lang>.py
with the caller's Dice, so each student's book depends on their own seed only.
"""

from __future__ import annotations

import importlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from . import vocab_en, vocab_zh
from .dice import Dice


@dataclass(frozen=True)
class Place:
    """A region and city for addresses."""
    region: str  # province or state
    city: str
    short: str
    initials: str
    area_codes: tuple[str, ...]
    postcode: str
    districts: tuple[str, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class Firm:
    """A company's full and short name."""
    name: str
    short: str
    domain: str
    place: Place


def _weighted(table: Any) -> tuple[list[str], list[float]]:
    names = list(table)
    weights = [float(table[n]) for n in names] if isinstance(table, dict) else [1.0] * len(names)
    return names, list(itertools.accumulate(weights))


@lru_cache(maxsize=4)
def _faker_people(locale: str) -> dict[str, tuple[list[str], list[float]]]:
    """Name frequency tables of a Faker locale's person provider."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    if locale.startswith("zh"):
        surnames = {k: w for k, w in provider.last_names.items() if k in vocab_zh.SURNAME_PINYIN}
        return {"last": _weighted(surnames)}
    return {"last": _weighted(provider.last_names), "female": _weighted(provider.first_names_female),
            "male": _weighted(provider.first_names_male)}


@lru_cache(maxsize=4)
def _mobile_prefixes(locale: str) -> tuple[str, ...]:
    provider = importlib.import_module(f"faker.providers.phone_number.{locale}").Provider
    return tuple(str(p) for p in getattr(provider, "phonenumber_prefixes", ()))


def _places(vocab: ModuleType, zh: bool) -> list[Place]:
    if zh:
        return [Place(p, c, s, i, (a,), "", tuple(d), tuple(r)) for p, c, s, i, a, d, r in vocab.CITIES]
    return [Place(st, c, s, i, tuple(a), z, (), tuple(r)) for st, c, s, i, a, z, r in vocab.CITIES]


def short_product(name: str) -> str:
    """A product's name without its size or packing: 西湖龙井·明前特级 250g → 西湖龙井·明前特级."""
    return re.split(r"[\s（(,，]", name.strip(), maxsplit=1)[0] if re.search(r"[\u4e00-\u9fff]", name) \
        else re.split(r"[,(]", name, maxsplit=1)[0].strip()


class Names:
    """Composers of realistic names for one locale; every method takes the caller's random generator."""

    def __init__(self, locale: str, home_city: str) -> None:
        self.zh = locale.startswith("zh")
        self.vocab: ModuleType = vocab_zh if self.zh else vocab_en
        self.people = _faker_people(locale)
        self.mobiles = _mobile_prefixes(locale)
        self.places = _places(self.vocab, self.zh)
        self._plain: dict[str, str] = {}  # name → its lowercase ASCII letters, for e-mails and domains
        home = home_city.strip().removesuffix("市")
        self.home = next((p for p in self.places if home in (p.short, p.city)), None)

    def plain(self, text: str) -> str:
        """Lowercase ASCII letters of `text` (memoised: the same names come back thousands of times)."""
        found = self._plain.get(text)
        if found is None:
            found = self._plain[text] = re.sub(r"[^a-z]", "", text.lower())
        return found

    def place(self, rng: Dice) -> Place:
        """A city, the company's own city almost half of the time (customers are mostly local)."""
        if self.home is not None and rng.random() < 0.45:
            return self.home
        return rng.choice(self.places)

    def person(self, rng: Dice) -> tuple[str, str]:
        """A full name and an e-mail local part that matches it."""
        last, cum = self.people["last"]
        surname = rng.weighted(last, cum)
        if self.zh:
            given, given_py = rng.choice(vocab_zh.GIVEN_NAMES)
            sur_py = vocab_zh.SURNAME_PINYIN[surname]
            local = rng.choice([f"{sur_py}{given_py}", f"{given_py}.{sur_py}", f"{sur_py}.{given_py}",
                                f"{sur_py}{given_py}{rng.int(1, 99)}"])
            return surname + given, local
        first, fcum = self.people[rng.choice(("female", "male"))]
        given = rng.weighted(first, fcum)
        g, s = self.plain(given), self.plain(surname)
        local = rng.choice([f"{g}.{s}", f"{g[0]}{s}", f"{g}{s[0]}", f"{g}.{s}{rng.int(1, 99)}"])
        return f"{given} {surname}", local

    def firm(self, rng: Dice, words: list[str], place: Place | None = None) -> Firm:
        """A company name of one of `words` (its trade), with its short name and web domain."""
        place = place or self.place(rng)
        word = rng.choice(words)
        ended = word.endswith(self.vocab.NAME_ENDINGS)
        if self.zh:
            brand, brand_py = rng.choice(vocab_zh.BRANDS)
            name = f"{place.short}{brand}{word}" + ("" if ended else rng.choice(vocab_zh.SUFFIXES))
            domain = f"{place.initials}{brand_py}.{rng.choice(('com', 'com.cn', 'cn'))}"
            return Firm(name, f"{brand}{word}", domain, place)
        brand = rng.choice(vocab_en.BRANDS)
        name = f"{brand} {word}" + ("" if ended else f" {rng.choice(vocab_en.SUFFIXES)}")
        domain = self.plain(f"{brand}{word}") + ".com"
        return Firm(name, f"{brand} {word}", domain, place)

    def address(self, rng: Dice, place: Place) -> str:
        """A street address in `place`."""
        street = rng.choice(place.streets)
        if self.zh:
            head = place.city if place.region == place.city else place.region + place.city
            tail = rng.choice([f"{rng.choice(vocab_zh.BUILDINGS)}{rng.int(2, 28)}楼",
                               f"{rng.int(1, 12)}幢{rng.int(101, 1808)}室", ""])
            return f"{head}{rng.choice(place.districts)}{street}{rng.int(1, 999)}号{tail}"
        unit = f", {rng.choice(vocab_en.SUITES)} {rng.int(1, 30) * 100}" if rng.random() < 0.5 else ""
        return f"{rng.int(10, 9899)} {street}{unit}, {place.city}, {place.region} {place.postcode}{rng.int(1, 99):02d}"

    def landline(self, rng: Dice, place: Place) -> str:
        """An office number in the city's area code."""
        area = rng.choice(place.area_codes)
        if self.zh:
            return f"{area}-{rng.int(2, 8)}{rng.int(0, 9_999_999):07d}"
        exchange = rng.int(201, 989)
        return f"({area}) {exchange + (exchange == 555)}-{rng.int(0, 9999):04d}"

    def mobile(self, rng: Dice, place: Place) -> str:
        """A mobile number."""
        if self.zh:
            return f"{rng.choice(self.mobiles)}{rng.int(0, 99_999_999):08d}"
        return self.landline(rng, place)

    def free_email(self, rng: Dice, local: str) -> str:
        """A personal address (leads who wrote from a free mailbox)."""
        if self.zh and rng.random() < 0.4:
            return f"{rng.int(10_000_000, 2_999_999_999)}@qq.com"
        return f"{local}@{rng.choice(self.vocab.FREE_MAIL)}"
