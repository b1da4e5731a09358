"""The ``world`` section of the config as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from vtscale.config_types import NonNegInt, PosInt, SomeOf
from vtscale.errors import ConfigError

GRID = 4  # scenes are laid out on a GRID x GRID grid of cells
ASPECTS = ("existence", "count", "color", "position", "reading")   # what a fact can be about
REQUIRED_ASPECTS = ("existence", "reading")                        # POPE and OCR-VQA ask these


@dataclass
class BenchSizes:
    pope: PosInt = 150        # images, 3 questions each
    mme: PosInt = 100         # images, 2 questions each
    hallusion: PosInt = 40    # figures (original + edited variant pairs)
    mcq: PosInt = 200         # questions
    ocrvqa: PosInt = 200      # questions
    caption: PosInt = 50      # images


@dataclass(frozen=True)
class AddedTurns:
    """What a conversation asks after its sampled turns (the ``world`` keys of the same names)."""
    existence_claims: int = 0          # the scene's existence_claims, this many of each answer
    read_every_word: bool = False      # its reading_questions
    yes_no_pairs: tuple[str, ...] = ()  # its yes_no_pairs on these aspects
    read_all_words: bool = False       # its all_words_turn
    caption_every_scene: bool = False  # its caption_turn


@dataclass
class WorldConfig:
    """Size defaults: the demo profile's; aspects and turns: the tiny profile's (it leaves them out)."""
    image_size: PosInt = 224
    n_train_scenes: PosInt = 4000
    n_docs: PosInt = 40
    n_dpo: PosInt = 64
    min_objects: PosInt = 2
    max_objects: PosInt = 6
    max_words: NonNegInt = 2
    # asked in conversations, MME, MCQ
    aspects: Annotated[list[str], SomeOf(ASPECTS)] = field(default_factory=lambda: list(ASPECTS))
    turns: list[PosInt] = field(default_factory=lambda: [2, 5])    # min, max turns per conversation
    existence_claims: NonNegInt = 0  # + "Is there a <colour> <kind>?" on up to N present and N absent names
    read_every_word: bool = False    # + "What word is written <where>?" on every word of the scene
    # + per listed aspect one fact asked as a yes/no pair, its true claim and a false one (MME's form)
    yes_no_pairs: Annotated[list[str], SomeOf(ASPECTS, allow_empty=True)] = field(default_factory=list)
    # + "What words are written in the image?" (all of them, in reading order); OCR-VQA asks it too
    read_all_words: bool = False
    caption_every_scene: bool = False  # + the detailed caption, every shape and word with its place
    bench: BenchSizes = field(default_factory=BenchSizes)

    def added_turns(self) -> AddedTurns:
        """What each training conversation asks after its sampled turns (synth.language)."""
        return AddedTurns(self.existence_claims, self.read_every_word, tuple(self.yes_no_pairs),
                          self.read_all_words, self.caption_every_scene)

    def __post_init__(self) -> None:
        if self.min_objects > self.max_objects:
            raise ConfigError("config error: world.min_objects exceeds world.max_objects")
        if self.min_objects < 2:
            raise ConfigError("config error: world.min_objects must be at least 2")
        if self.max_words < 1:
            raise ConfigError("config error: world.max_words must be at least 1 (OCR benchmarks)")
        if self.max_objects + self.max_words > GRID * GRID:
            raise ConfigError(
                f"config error: world.max_objects + world.max_words must fit the "
                f"{GRID}x{GRID} grid ({GRID * GRID} cells)")
        missing = [a for a in REQUIRED_ASPECTS if a not in self.aspects]
        if missing:
            raise ConfigError(f"config error: world.aspects must include {missing[0]!r}")
        if len(self.turns) != 2 or not 1 <= self.turns[0] <= self.turns[1]:
            raise ConfigError(f"config error: world.turns: expected [min, max] with 1 <= min <= max, "
                              f"got {self.turns}")
        if self.image_size < 224:
            raise ConfigError("config error: world.image_size must be at least 224")
