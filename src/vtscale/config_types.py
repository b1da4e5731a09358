"""What a config dataclass field may hold beyond its type: bounds and choices, written as
``typing.Annotated`` metadata (``batch_size: PosInt = 8``) and checked by
:func:`vtscale.config.config_section` with the field's dotted key in the message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from vtscale.errors import ConfigError, check_choice


@dataclass(frozen=True)
class Range:
    """A number at least ``low`` (more than it when ``open_low``) and at most ``high``."""
    low: float
    high: float | None = None
    open_low: bool = False

    def check(self, value: Any, key: str) -> None:
        below = value <= self.low if self.open_low else value < self.low
        if below or (self.high is not None and value > self.high):
            raise ConfigError(f"config error: {key}={value!r}: must be {self}")

    def __str__(self) -> str:
        if self.high is not None:
            return f"between {self.low} and {self.high}"
        return "positive" if self.open_low else f"at least {self.low}"


@dataclass(frozen=True)
class OneOf:
    """One of ``choices``."""
    choices: tuple

    def check(self, value: Any, key: str) -> None:
        check_choice(key, value, self.choices)


@dataclass(frozen=True)
class SomeOf:
    """A list of distinct ``choices``, non-empty unless ``allow_empty``."""
    choices: tuple
    allow_empty: bool = False

    def check(self, values: Any, key: str) -> None:
        if not values and not self.allow_empty:
            raise ConfigError(f"config error: {key}: expected at least one of {', '.join(self.choices)}")
        for value in values:
            check_choice(key, value, self.choices)
        if len(set(values)) < len(values):
            raise ConfigError(f"config error: {key}: {list(values)} repeats an entry")


PosInt = Annotated[int, Range(1)]
NonNegInt = Annotated[int, Range(0)]
PosNum = Annotated[float, Range(0, open_low=True)]
NonNegNum = Annotated[float, Range(0)]
Fraction = Annotated[float, Range(0, 1)]


def inherited(default: Any) -> Any:
    """A field filled in from elsewhere (the enclosing section, the run), not a key a
    profile sets: config_section treats it as unknown."""
    return field(default=default, metadata={"inherited": True})
