"""The ``world`` section of the config as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from vtscale.config import ConfigError

GRID = 4  # scenes are laid out on a GRID x GRID grid of cells


@dataclass
class BenchSizes:
    pope: int = 150        # images, 3 questions each
    mme: int = 100         # images, 2 questions each
    hallusion: int = 40    # figures (original + edited variant pairs)
    mcq: int = 200         # questions
    ocrvqa: int = 200      # questions
    caption: int = 50      # images


@dataclass
class WorldConfig:
    image_size: int = 448
    n_train_scenes: int = 2000
    n_docs: int = 120
    n_dpo: int = 64
    min_objects: int = 3
    max_objects: int = 12
    max_words: int = 3
    bench: BenchSizes = field(default_factory=BenchSizes)

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
        if self.image_size < 224:
            raise ConfigError("config error: world.image_size must be at least 224")
