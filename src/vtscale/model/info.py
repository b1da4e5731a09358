"""``vtscale model-info``: parameter counts per component and fused-token counts of
a model config, built on the meta device (no weights, no download)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vtscale.config import config_section, load
from vtscale.config_checks import load_profile
from vtscale.grid import grid_settings
from vtscale.io import write_json
from vtscale.model.config import ModelConfig
from vtscale.model.vision import patch_tokens  # noqa: F401  (re-exported for shape checks)
from vtscale.model.vlm import VisionTokenModel

log = logging.getLogger(__name__)


def build_meta_model(model_cfg: ModelConfig) -> VisionTokenModel:
    """The full model with meta tensors: shapes and FLOPs without memory or weights.
    A demo ("bootstrap") vision config is built from its sizes."""
    with torch.device("meta"):
        return VisionTokenModel.from_config(model_cfg, load_weights=False)


def _count(module: nn.Module | nn.Parameter) -> int:
    if isinstance(module, nn.Parameter):
        return module.numel()
    return sum(p.numel() for p in module.parameters())


def parameter_counts(model: VisionTokenModel) -> dict[str, int]:
    clip_total = _count(model.clip)
    counts = {
        "vision_encoder": _count(model.clip.visual),
        "clip_text_tower": clip_total - _count(model.clip.visual) - _count(model.clip.logit_scale),
        "view_merger": _count(model.merger),
        "fusion": _count(model.fusion),
        "projection": _count(model.projection),
        "stage1_heads": _count(model.query_head) + _count(model.answer_head) + 1,
        "llm": _count(model.llm),
    }
    counts["total"] = sum(counts.values())
    return counts


def token_counts(cfg: ModelConfig) -> dict[str, int]:
    v = cfg.vision
    return {
        "patch_tokens_per_view": v.patches_per_side ** 2,
        "tokens_per_view": v.tokens_per_view,
        "max_views": 1 + cfg.hd_views,
        "max_view_tokens": cfg.max_view_tokens,
        "fusion_width": v.width,
        "fusion_heads": cfg.fusion_heads,
        "max_fused_tokens": cfg.fusion.max_tokens,
    }


def describe(config: dict[str, Any]) -> dict[str, Any]:
    cfg = config_section(ModelConfig, config, "model")
    model = build_meta_model(cfg)
    info = {"parameters": parameter_counts(model), "tokens": token_counts(cfg),
            "llm_hidden_size": model.llm.config.hidden_size}
    if "grid" in config:
        info["grid"] = [{"n": n, "m": m, "fused_first_question": n, "fused_later_question": m}
                        for n, m in grid_settings(config["grid"])]
    return info


def format_info(info: dict[str, Any]) -> str:
    lines = ["parameters:"]
    lines += [f"  {name:<16} {count:>15,}" for name, count in info["parameters"].items()]
    lines.append("tokens:")
    lines += [f"  {name:<22} {value}" for name, value in info["tokens"].items()]
    lines.append(f"  {'llm_hidden_size':<22} {info['llm_hidden_size']}")
    if "grid" in info:
        lines.append("grid (n fused tokens before question 1, m before each later one):")
        lines.append("  " + ", ".join(f"n={g['n']} m={g['m']}" for g in info["grid"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale model-info", description=__doc__)
    parser.add_argument("--config", required=True, type=Path, help="pipeline config YAML")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    schema = args.config.parent / "schema.yaml"
    info = describe(load_profile(args.config, schema) if schema.exists() else load(args.config))
    print(format_info(info))
    if args.out:
        write_json(args.out, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
