"""Errors that mean "the input is wrong", reported as one line naming file and field."""

from typing import Any


class InputError(ValueError):
    """Bad input data: the message names the file (and record or field) at fault."""


class ConfigError(ValueError):
    """A config problem, with the dotted key that caused it in the message."""


class SectionError(ConfigError):
    """A rule of a section that sits at several keys (each training stage's loop settings):
    the message names no key, config.config_section puts the section's key in front."""


def check_choice(key: str, value: Any, choices: tuple) -> None:
    """A config value that must be one of ``choices``: else one line naming the key."""
    if value not in choices:
        raise ConfigError(f"config error: {key}={value!r}: expected one of {', '.join(map(str, choices))}")
