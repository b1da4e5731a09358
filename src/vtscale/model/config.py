"""Model configuration: the ``model:`` section of the pipeline config.

Defaults are the paper profile (open_clip ViT-L-14-336 ``openai``, HD-9, a 20-layer
fusion Llama, Llama-2-7B-chat), so ``config/paper.yaml`` only names the sources.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any

from vtscale.config_types import NonNegInt, OneOf, PosInt, PosNum
from vtscale.errors import ConfigError
from vtscale.model.chat_template import CHAT_FORMATS
from vtscale.model.hd_views import VIEW_RULES

TEXT_CONTEXT_INITS = ("stretch", "normal")


@dataclass
class VisionConfig:
    source: str = "open_clip"          # "open_clip" (pretrained tag below) | "bootstrap" (demo folder)
    name: str = "ViT-L-14-336"
    pretrained: str | None = "openai"
    view_size: PosInt = 336
    patch_size: PosInt = 14
    width: PosInt = 1024
    layers: PosInt = 24
    heads: PosInt = 16
    mlp_ratio: PosNum = 4.0
    text_context: PosInt = 512         # CLIP text context, extended from 77 for stage 1 answers
    # new positions: "stretch" (interpolated) | "normal" (the authors')
    text_context_init: Annotated[str, OneOf(TEXT_CONTEXT_INITS)] = "stretch"
    answer_sot: bool = True            # stage-1 answers start with [SOT] (the authors' code: no)

    @property
    def patches_per_side(self) -> int:
        """Patches per side of one view (24 for ViT-L/14 at 336 px)."""
        return self.view_size // self.patch_size

    @property
    def merged_grid(self) -> int:
        """Side of the grid after the stride-2 merge conv (kernel 3, padding 1)."""
        return (self.patches_per_side - 1) // 2 + 1

    @property
    def tokens_per_view(self) -> int:
        """Merged patch tokens plus the view's newline token (145 in the paper)."""
        return self.merged_grid ** 2 + 1


@dataclass
class FusionConfig:
    layers: PosInt = 20
    gradient_checkpointing: bool = False
    max_tokens: PosInt = 768           # largest n supported: max_tokens - 1 query tokens in the vocab
    heads: PosInt | None = None        # None: width // 64 (paper: 16), or vision heads if width < 64


@dataclass
class LLMConfig:
    source: str = "meta-llama/Llama-2-7b-chat-hf"   # hf id or local folder | "bootstrap" (demo)
    hidden_size: PosInt = 4096
    layers: PosInt = 32
    heads: PosInt = 32
    intermediate_size: PosInt = 11008
    vocab_size: PosInt = 32000         # only used when the LLM is built from sizes (meta device)
    # "tokenizer" (its own chat template) | "llama-2-vision" (the authors')
    chat_format: Annotated[str, OneOf(CHAT_FORMATS)] = "tokenizer"
    system_message: str | None = None  # llama-2-vision: None = the format's own, "" = none


@dataclass
class ModelConfig:
    vision: VisionConfig = field(default_factory=VisionConfig)
    hd_views: NonNegInt = 9            # local views; 0 = the global view alone
    # "vtscale" | "authors": padding and filters (model/hd_views.py)
    view_rule: Annotated[str, OneOf(VIEW_RULES)] = "vtscale"
    fusion: FusionConfig = field(default_factory=FusionConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)

    def __post_init__(self) -> None:
        self.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        v = self.vision
        if v.view_size % v.patch_size:
            raise ConfigError(
                f"config error: model.vision.view_size={v.view_size} is not a multiple of "
                f"model.vision.patch_size={v.patch_size}")
        _check_heads("model.fusion.heads", self.fusion_heads, "model.vision.width", v.width)
        _check_heads("model.vision.heads", v.heads, "model.vision.width", v.width)
        _check_heads("model.llm.heads", self.llm.heads, "model.llm.hidden_size", self.llm.hidden_size)

    @property
    def fusion_heads(self) -> int:
        if self.fusion.heads is not None:
            return self.fusion.heads
        return self.vision.width // 64 if self.vision.width >= 64 else self.vision.heads

    @property
    def max_view_tokens(self) -> int:
        """View tokens of an image that uses every local view (1450 for the paper's HD-9)."""
        return (1 + self.hd_views) * self.vision.tokens_per_view


def _check_heads(heads_key: str, heads: int, width_key: str, width: int) -> None:
    """Attention splits a width into equal heads."""
    if heads < 1 or width % heads:
        raise ConfigError(f"config error: {heads_key}: {heads} does not divide {width_key} ({width})")
