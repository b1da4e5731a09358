"""The setting a model is trained and evaluated at: n fused tokens before the first
question, m before each later one, and whether the fusion input holds the question.

Its tag ``n<N>_m<M>`` names its folders (models, eval outputs, logs)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from vtscale.errors import ConfigError

TAG = re.compile(r"n(?P<n>\d+)_m(?P<m>\d+)")


def setting_tag(n: int | str, m: int | str) -> str:
    """``n<N>_m<M>``; also of wildcard names (``setting_tag("{n}", "{m}")``)."""
    return f"n{n}_m{m}"


@dataclass(frozen=True)
class Setting:
    n: int
    m: int
    use_question: bool = True

    @property
    def tag(self) -> str:
        return setting_tag(self.n, self.m)

    @classmethod
    def from_tag(cls, tag: str) -> Setting | None:
        """The setting a folder name ``n<N>_m<M>`` names, or None when it names none."""
        match = TAG.fullmatch(tag)
        return cls(int(match["n"]), int(match["m"])) if match else None

    def at_n(self, n: int) -> Setting:
        """This setting at ``n`` fused tokens, its m capped at ``n``."""
        return Setting(n, min(self.m, n), self.use_question)

    def describe(self) -> str:
        question = "with the question" if self.use_question else "without the question"
        return f"n={self.n} m={self.m} {question}"

    def check(self, max_tokens: int | None = None, where: str = "") -> Setting:
        """Itself if 1 <= m <= n <= max_tokens (no upper bound when None), else a one-line
        ConfigError naming the field: ``where`` prefixes n and m there (``"--"`` for
        flags, ``"train.stage2."`` for config keys)."""
        for name, value in (("n", self.n), ("m", self.m)):
            if value < 1:
                raise ConfigError(f"config error: {where}{name}: {value} is less than 1")
        if self.m > self.n:
            raise ConfigError(f"config error: {where}m: {self.m} is more than its n ({self.n})")
        if max_tokens is not None and self.n > max_tokens:
            raise ConfigError(f"config error: {where}n: {self.n} is more than "
                              f"model.fusion.max_tokens ({max_tokens})")
        return self


def drawn_setting(setting: Setting, ns: Sequence[int], sample_ids: Sequence[str]) -> Setting:
    """``setting`` at one of ``ns`` (its m capped at that n), chosen from the batch's
    sample ids, so that a batch gets the same n in every run and after a resume;
    ``setting`` itself when ``ns`` is empty."""
    if not ns:
        return setting
    return setting.at_n(ns[zlib.crc32("\n".join(sample_ids).encode()) % len(ns)])
