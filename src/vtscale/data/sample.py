"""The unit every model-facing stage works on: one image with its question/answer turns."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image


@dataclass
class Turn:
    question: str
    answer: str


@dataclass
class Sample:
    id: str
    image: Image.Image | None      # None where cached vision features stand in for it
    turns: list[Turn] = field(default_factory=list)
