"""A fast deterministic random source: every draw is one call of random.Random.random().

randint(), choice() and choices() of the standard library cost microseconds each in pure Python;
a class of 60 students draws about half a million times, so the draws are built on random() alone.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Dice:
    """Draws from one seed; the same seed gives the same draws on every platform."""

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def int(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        return int(self.random() * n)

    def choice(self, seq: Sequence[T]) -> T:
        """One element."""
        return seq[int(self.random() * len(seq))]

    def weighted(self, seq: Sequence[T], cumulative: Sequence[float]) -> T:
        """One element, by cumulative weights (zero-weight elements are never drawn)."""
        return seq[bisect.bisect(cumulative, self.random() * cumulative[-1])]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """k distinct elements (a partial Fisher-Yates shuffle)."""
        pool = list(seq)
        for i in range(k):
            j = i + int(self.random() * (len(pool) - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high)."""
        return low + (high - low) * self.random()
