"""The CLIP side of the model: building the open_clip CLIP, turning HD views into
view tokens (fresh LayerNorm, stride-2 merge conv + residual, newline token) and
encoding answers with the CLIP text tower over an extended context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from vtscale.errors import InputError
from vtscale.hub import require_model
from vtscale.model.config import VisionConfig

BOOTSTRAP_CONFIG = "open_clip_config.json"
BOOTSTRAP_WEIGHTS = "open_clip_model.safetensors"
CLIP_TEXT_CONTEXT = 77  # CLIP's own; the model extends it (model.vision.text_context)
CLIP_VOCAB_SIZE = 49408  # open_clip's SimpleTokenizer
KEEP_POSITIONS = 20     # LongCLIP-style stretch: the first positions keep CLIP's exact values


def open_clip_config(cfg: VisionConfig, vision_init: str | Path | None = None,
                     from_sizes: bool = False) -> dict[str, Any]:
    """kwargs for ``open_clip.model.CLIP``: the bootstrap folder's JSON or the named config
    (``from_sizes``: a bootstrap config without its folder is built from the sizes)."""
    if cfg.source == "bootstrap":
        if vision_init is None and not from_sizes:
            raise InputError("model.vision.source=bootstrap needs --vision-init (the bootstrap_clip folder)")
        if vision_init is None:
            return clip_config_from_sizes(cfg)
        path = Path(vision_init) / BOOTSTRAP_CONFIG
        if not path.exists():
            raise InputError(f"{path}: missing (expected the bootstrap CLIP config)")
        return json.loads(path.read_text())
    clip_cfg = open_clip.get_model_config(cfg.name)
    if clip_cfg is None:
        raise InputError(f"model.vision.name={cfg.name!r}: not an open_clip model config")
    if cfg.pretrained == "openai":
        clip_cfg["quick_gelu"] = True      # OpenAI weights were trained with QuickGELU
    return clip_cfg


def clip_config_from_sizes(cfg: VisionConfig) -> dict[str, Any]:
    """The CLIP of the configured vision sizes, as bootstrap-clip trains it: the text
    tower has the vision width and half the ViT's depth (it only embeds descriptions and
    answers, and it is the costlier tower per step at demo sizes)."""
    return {
        "embed_dim": cfg.width,
        "vision_cfg": {"image_size": cfg.view_size, "patch_size": cfg.patch_size, "width": cfg.width,
                       "layers": cfg.layers, "head_width": cfg.width // cfg.heads,
                       "mlp_ratio": cfg.mlp_ratio},
        "text_cfg": {"context_length": CLIP_TEXT_CONTEXT, "vocab_size": CLIP_VOCAB_SIZE,
                     "width": cfg.width, "heads": cfg.heads, "layers": max(1, cfg.layers // 2)},
    }


def build_clip(clip_cfg: dict[str, Any], cfg: VisionConfig, vision_init: str | Path | None,
               load_weights: bool) -> nn.Module:
    """The open_clip CLIP with weights (bootstrap folder or pretrained tag) or without."""
    if load_weights and cfg.source != "bootstrap":
        require_pretrained_clip(cfg)
        clip = open_clip.create_model(cfg.name, pretrained=cfg.pretrained,
                                      force_quick_gelu=bool(clip_cfg.get("quick_gelu")))
    else:
        clip = open_clip.model.CLIP(**clip_cfg)
        if load_weights:
            path = Path(vision_init) / BOOTSTRAP_WEIGHTS
            if not path.exists():
                raise InputError(f"{path}: missing (expected the bootstrap CLIP weights)")
            clip.load_state_dict(load_file(str(path)))
    check_vision_matches(clip, cfg)
    return clip


def require_pretrained_clip(cfg: VisionConfig) -> None:
    """Fail at the start, with a clear line, when the pretrained weights cannot be had."""
    hub_id = (open_clip.get_pretrained_cfg(cfg.name, cfg.pretrained) or {}).get("hf_hub", "")
    if hub_id:
        require_model(hub_id.rstrip("/"), "model.vision.pretrained", probe="open_clip_config.json")


def check_vision_matches(clip: nn.Module, cfg: VisionConfig) -> None:
    visual = clip.visual
    got = {"view_size": visual.image_size[0], "patch_size": visual.patch_size[0],
           "width": visual.transformer.width, "layers": visual.transformer.layers}
    for key, value in got.items():
        if getattr(cfg, key) != value:
            raise InputError(f"model.vision.{key}={getattr(cfg, key)} but the CLIP model has {value}")


def stretch_positions(pos: torch.Tensor, length: int, keep: int = KEEP_POSITIONS) -> torch.Tensor:
    """Extend a [ctx, d] positional table to ``length`` rows: keep the first ``keep``
    rows and linearly interpolate the rest, so short texts embed exactly as before."""
    if length <= pos.shape[0]:
        return pos[:length].clone()
    keep = min(keep, pos.shape[0] - 1)
    tail = pos[keep:].T.unsqueeze(0)                                  # [1, d, ctx - keep]
    tail = F.interpolate(tail, size=length - keep, mode="linear", align_corners=True)
    return torch.cat([pos[:keep], tail[0].T], dim=0)


def normal_positions(pos: torch.Tensor, length: int) -> torch.Tensor:
    """Extend a [ctx, d] positional table to ``length`` rows as the authors' code does:
    the old rows kept, each new entry drawn from N(mean, std) of the whole old table."""
    if length <= pos.shape[0]:
        return pos[:length].clone()
    std, mean = torch.std_mean(pos)
    new = torch.randn(length - pos.shape[0], pos.shape[1], dtype=pos.dtype, device=pos.device)
    return torch.cat([pos, new * std + mean], dim=0)


def extend_text_context(clip: nn.Module, length: int, init: str = "stretch") -> None:
    """Give the CLIP text tower a ``length``-token context (paper: 77 -> 512); ``init``
    picks how the new positions start: ``stretch_positions`` or ``normal_positions``."""
    if clip.positional_embedding.shape[0] == length:
        return
    extend = normal_positions if init == "normal" else stretch_positions
    with torch.no_grad():
        pos = extend(clip.positional_embedding.data, length)
    clip.positional_embedding = nn.Parameter(pos)
    clip.context_length = length
    mask = torch.full((length, length), float("-inf"), device=pos.device).triu_(1)
    clip.register_buffer("attn_mask", mask, persistent=False)


def encode_text_eos(clip: nn.Module, ids: torch.Tensor, eos_index: torch.Tensor) -> torch.Tensor:
    """CLIP text features at each row's EOS, running only as many positions as the
    longest row needs (causal attention makes the padding irrelevant)."""
    length = ids.shape[1]
    x = clip.token_embedding(ids) + clip.positional_embedding[:length]
    x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
    x = clip.ln_final(x)
    pooled = x[torch.arange(x.shape[0], device=x.device), eos_index]
    proj = clip.text_projection
    if proj is None:
        return pooled
    return proj(pooled) if isinstance(proj, nn.Linear) else pooled @ proj


class ViewMerger(nn.Module):
    """Fresh final LayerNorm, per-view 3x3 stride-2 conv with a nearest-downsampled
    residual, and one learnable newline token appended to each view."""

    def __init__(self, width: int, patches_per_side: int):
        super().__init__()
        self.patches_per_side = patches_per_side
        self.norm = nn.LayerNorm(width)
        self.conv = nn.Conv2d(width, width, kernel_size=3, stride=2, padding=1, bias=False)
        self.newline = nn.Parameter(torch.randn(width) * width ** -0.5)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """[views, grid², d] patch tokens (CLS already dropped) -> [views, merged² + 1, d]."""
        views, _, width = patches.shape
        x = self.norm(patches).transpose(1, 2).reshape(views, width, self.patches_per_side, self.patches_per_side)
        merged = self.conv(x)
        merged = merged + F.interpolate(x, size=merged.shape[-2:], mode="nearest")
        tokens = merged.flatten(2).transpose(1, 2)
        newline = self.newline.to(tokens.dtype).expand(views, 1, width)
        return torch.cat([tokens, newline], dim=1)


def patch_tokens(visual: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Last-block ViT outputs without the CLS token and before ln_post: [views, grid², d]."""
    out = visual.forward_intermediates(pixels, indices=1, intermediates_only=True, output_fmt="NLC")
    return out["image_intermediates"][-1]


_MEAN = np.asarray(OPENAI_DATASET_MEAN, dtype=np.float32)
_STD = np.asarray(OPENAI_DATASET_STD, dtype=np.float32)


def views_to_pixels(views: list[Image.Image | torch.Tensor]) -> torch.Tensor:
    """RGB views (all the same size; PIL, or [3, H, W] tensors in [0, 1]) -> normalised
    [views, 3, H, W] float tensor."""
    arrays = np.stack([_view_array(v) for v in views])
    arrays = (arrays - _MEAN) / _STD
    return torch.from_numpy(arrays).permute(0, 3, 1, 2).contiguous()


def _view_array(view: Image.Image | torch.Tensor) -> np.ndarray:
    """[H, W, 3] float32 in [0, 1] (a tensor view may overshoot it: bicubic, unclamped)."""
    if isinstance(view, torch.Tensor):
        return view.permute(1, 2, 0).numpy().astype(np.float32)
    return np.asarray(view.convert("RGB"), dtype=np.float32) / 255.0
