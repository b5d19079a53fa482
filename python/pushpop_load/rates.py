"""Request-rate patterns of the seed's scenarios: what a scenario's swarm should send per second at time ``t``.

Plain Python (no Locust import): the swarm pacer of ``pushpop_load.scenario`` and the S6 load shapes both read
them, so a worker paces with the same curve its master's shape follows. Times are in scenario seconds (already
multiplied by the time scale); ``duration`` is None for patterns that hold their last rate for ever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Constant", "Ramp", "Rate", "Sine", "Spike", "Square", "parse_pattern"]


class Rate:
    """A swarm-wide request rate over scenario time."""

    duration: float | None = None

    def at(self, t: float) -> float:
        raise NotImplementedError

    @property
    def peak(self) -> float:
        raise NotImplementedError

    def scaled_to(self, peak: float) -> "Rate":
        """The same curve with its peak moved to ``peak`` requests/s (a runner's ``--rate`` override)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Rate):
    rps: float

    def at(self, t: float) -> float:
        return self.rps

    @property
    def peak(self) -> float:
        return self.rps

    def scaled_to(self, peak: float) -> "Constant":
        return Constant(peak)

    def __str__(self) -> str:
        return f"{self.rps:g} RPS"


@dataclass(frozen=True)
class Ramp(Rate):
    """Linear from ``start`` to ``end`` over ``over`` seconds, then ``end``."""

    start: float
    end: float
    over: float

    def at(self, t: float) -> float:
        if t >= self.over:
            return self.end
        return self.start + (self.end - self.start) * max(0.0, t) / self.over

    @property
    def peak(self) -> float:
        return max(self.start, self.end)

    def scaled_to(self, peak: float) -> "Ramp":
        factor = peak / self.peak
        return Ramp(self.start * factor, self.end * factor, self.over)

    def __str__(self) -> str:
        return f"ramp {self.start:g}->{self.end:g} RPS over {self.over:g} s"


@dataclass(frozen=True)
class Sine(Rate):
    """One smooth cycle ``low -> high -> low`` over ``period`` seconds (S6a)."""

    low: float
    high: float
    period: float

    @property
    def duration(self) -> float:  # type: ignore[override]
        return self.period

    def at(self, t: float) -> float:
        phase = min(max(t, 0.0), self.period) / self.period
        return self.low + (self.high - self.low) * (1 - math.cos(2 * math.pi * phase)) / 2

    @property
    def peak(self) -> float:
        return self.high

    def scaled_to(self, peak: float) -> "Sine":
        factor = peak / self.high
        return Sine(self.low * factor, peak, self.period)

    def __str__(self) -> str:
        return f"sine {self.low:g}->{self.high:g}->{self.low:g} RPS over {self.period:g} s"


@dataclass(frozen=True)
class Square(Rate):
    """``high`` for ``high_s`` seconds, then ``low`` for ``low_s``, repeated ``cycles`` times (S6b)."""

    high: float
    low: float
    high_s: float
    low_s: float
    cycles: int

    @property
    def duration(self) -> float:  # type: ignore[override]
        return (self.high_s + self.low_s) * self.cycles

    def at(self, t: float) -> float:
        return self.high if (max(t, 0.0) % (self.high_s + self.low_s)) < self.high_s else self.low

    @property
    def peak(self) -> float:
        return self.high

    def scaled_to(self, peak: float) -> "Square":
        factor = peak / self.high
        return Square(peak, self.low * factor, self.high_s, self.low_s, self.cycles)

    def __str__(self) -> str:
        return f"square {self.high:g} RPS for {self.high_s:g} s / {self.low:g} RPS for {self.low_s:g} s x{self.cycles}"


@dataclass(frozen=True)
class Spike(Rate):
    """``base`` for ``base_s`` seconds, then ``spike`` for ``spike_s`` (S6c)."""

    base: float
    base_s: float
    spike: float
    spike_s: float

    @property
    def duration(self) -> float:  # type: ignore[override]
        return self.base_s + self.spike_s

    def at(self, t: float) -> float:
        return self.base if t < self.base_s else self.spike

    @property
    def peak(self) -> float:
        return max(self.base, self.spike)

    def scaled_to(self, peak: float) -> "Spike":
        factor = peak / self.peak
        return Spike(self.base * factor, self.base_s, self.spike * factor, self.spike_s)

    def __str__(self) -> str:
        return f"{self.base:g} RPS for {self.base_s:g} s, then {self.spike:g} RPS for {self.spike_s:g} s"


PATTERNS: dict[str, Rate] = {
    "sine": Sine(10, 200, 300),
    "square": Square(200, 10, 30, 30, 5),
    "spike": Spike(50, 240, 500, 60),
}
"""The seed's S6 patterns: a 5-minute sine 10->200->10, square 30 s at 200 / 30 s at 10, spike 4 min at 50 then
1 min at 500."""


def parse_pattern(name: str) -> Rate:
    try:
        return PATTERNS[name]
    except KeyError:
        raise ValueError(f"unknown burst pattern {name!r}: use one of {', '.join(PATTERNS)}") from None
