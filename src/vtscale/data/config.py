"""The ``datasets`` config section (paper profile): where each raw dataset loads from and
the authors' rewrites applied on loading (vtscale.data.prepare)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vtscale.config_types import NonNegInt, PosInt
from vtscale.errors import ConfigError


@dataclass
class HubDataset:
    hub: str = ""
    file: str | list = ""             # one file, or several (SVIT task files), paths inside the repo
    descriptions: str | None = None   # SVIT: the file holding the detailed descriptions
    local: str | None = None          # a local copy: the file itself, or a folder laid out like the repo

    def files(self) -> list[str]:
        return [self.file] if isinstance(self.file, str) else list(self.file)


@dataclass
class ConversionConfig:
    """The authors' rewrites of the loaded conversations; the defaults keep them as loaded."""
    bbox_tags: bool = False                 # LLaVA and SVIT boxes as <bbox> tags in 0-999
    llava_drop_reference_ocr: bool = False  # leave out LLaVA records asking with "Reference OCR token"
    llava_max_messages: int | None = None   # cut LLaVA conversations to this many messages
    svit_max_rounds: PosInt | None = None   # pack SVIT_PACKED_TASKS into records of at most this many rounds
    svit_min_first_message: NonNegInt = 0   # leave out SVIT records whose first message is shorter

    def __post_init__(self) -> None:
        if self.llava_max_messages is not None and (self.llava_max_messages < 2 or self.llava_max_messages % 2):
            raise ConfigError("config error: datasets.conversion.llava_max_messages: an even number, at least 2")


@dataclass
class DatasetsConfig:
    llava_mix665k: HubDataset = field(default_factory=HubDataset)
    svit: HubDataset = field(default_factory=HubDataset)
    docstruct4m: HubDataset = field(default_factory=HubDataset)
    docdownstream: HubDataset = field(default_factory=HubDataset)
    dpo: HubDataset | None = None      # read by the theory stage, not here
    images_root: str | None = None
    benchmarks_root: str | None = None
    conversion: ConversionConfig = field(default_factory=ConversionConfig)

    def __post_init__(self) -> None:
        for name in ("llava_mix665k", "svit", "docstruct4m", "docdownstream"):
            entry = getattr(self, name)
            if not entry.local and not entry.hub:
                raise ConfigError(f"config error: datasets.{name}: set `hub` or `local`")
            if not entry.files() or not all(isinstance(f, str) and f for f in entry.files()):
                raise ConfigError(f"config error: datasets.{name}.file: one file name or a list of them")
        if not self.svit.descriptions:
            raise ConfigError("config error: datasets.svit.descriptions: name the detail-description file")
