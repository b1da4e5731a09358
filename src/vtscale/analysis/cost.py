"""Inference cost per number of vision tokens n (paper Tables 6-7).

* ``paper`` rows: compute of one prefill of the paper configuration (the paper profile's
  model section, ``paper_model``) built on the meta device (no weights), for an HD-9 image
  (1008x1008 px: 1 global + 9 local views) and the cost prompt in that model's chat format
  (llama-2-vision: its system message counted), over the paper grid; counted analytically
  (``tflops``, FlopCounterMode) and as the paper counted it (``thop_tmacs``, thop),
  ``cost_count.py`` says how they differ. ``llm_prompt_tokens``: the LLM's tokens besides
  the n fused ones.
* ``measured`` rows: the trained stage-2 model on this machine (CUDA when present), over
  the config grid: both counts, prefill time, TTFT and decode tokens/s over a seeded
  sample of images at ``cost.new_tokens`` new tokens, and on CUDA GPU utilisation and
  peak/mean memory (``cost_measure.py``, ``cost_gpu.py``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from tqdm import tqdm

from vtscale.analysis.config import CostConfig
from vtscale.analysis.cost_count import (PrefillCount, count_prefill_flops, count_prefill_thop, generation_batch,
                                         prompt_tokens)
from vtscale.analysis.cost_gpu import GpuMonitor
from vtscale.analysis.cost_measure import pick_images, time_images, warm_up
from vtscale.analysis.cost_report import markdown_report
from vtscale.config import config_section, parse_json_arg
from vtscale.errors import InputError
from vtscale.grid import grid_settings, m_for
from vtscale.io import atomic_path, write_text

log = logging.getLogger(__name__)

PAPER_GRID = (1, 8, 16, 32, 64, 128, 256, 384, 512, 768)
PAPER_M = 8
HD9_IMAGE_SIZE = (1008, 1008)                # 3x3 local views of 336 px at scale s = 3


def count_columns(flops: PrefillCount, thop: PrefillCount) -> dict[str, float]:
    return {"tflops": flops.total / 1e12, "tflops_vision_fusion": flops.vision_fusion / 1e12,
            "tflops_llm": flops.llm / 1e12, "tmacs": flops.total / 2e12,
            "thop_tmacs": thop.total / 1e12, "thop_tmacs_vision_fusion": thop.vision_fusion / 1e12,
            "thop_tmacs_llm": thop.llm / 1e12}


def count_both(model, batch: dict) -> dict[str, float]:
    return {**count_columns(count_prefill_flops(model, batch), count_prefill_thop(model, batch)),
            "llm_prompt_tokens": prompt_tokens(batch)}


# ------------------------------------------------------------------ paper counts
def build_paper_meta_model(model_section: dict):
    """The paper model on the meta device, eager attention so attention matmuls are
    counted and no mask check needs real data."""
    from vtscale.model.config import ModelConfig
    from vtscale.model.info import build_meta_model
    model = build_meta_model(config_section(ModelConfig, {"model": model_section}, "model"))
    for part in (model.fusion, model.llm):
        part.set_attn_implementation("eager")
    return model.eval()


def paper_table(model_section: dict, prompt: str) -> pd.DataFrame:
    model = build_paper_meta_model(model_section)
    image = Image.new("RGB", HD9_IMAGE_SIZE, "white")
    rows = []
    for n in tqdm(PAPER_GRID, desc="paper FLOPs", unit="n"):
        m = m_for(n, PAPER_M)
        counts = count_both(model, generation_batch(model, image, prompt, n, m))
        rows.append({"profile": "paper", "n": n, "m": m, **counts})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ measured
def load_timed_model(model_dir: str | Path):
    from vtscale.model.vlm import VisionTokenModel
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    return VisionTokenModel.from_pretrained(model_dir).eval().to(device)


def measure_setting(model, paths: list[Path], n: int, m: int, cfg: CostConfig) -> dict:
    counts = count_both(model, generation_batch(model, Image.open(paths[0]).convert("RGB"), cfg.prompt, n, m))
    with GpuMonitor(model.device) as gpu:
        times = time_images(model, paths, cfg.prompt, n, m, cfg.new_tokens, cfg.latency_repeats)
    return {"profile": "measured", "n": n, "m": m, **counts, "device": str(model.device),
            "images": len(paths), "new_tokens": cfg.new_tokens, **times, **gpu.columns()}


def measured_table(model_dir: str | Path, data_dir: str | Path, grid: dict, cfg: CostConfig) -> pd.DataFrame:
    model = load_timed_model(model_dir)
    paths = pick_images(data_dir, cfg.images, cfg.image_seed, cfg.image_dir)
    if len(paths) < cfg.images:
        log.warning("cost.images=%d but %s has %d: timing those", cfg.images, data_dir, len(paths))
    settings = grid_settings(grid)
    warm_up(model, paths[0], cfg.prompt, *settings[0])
    rows = [measure_setting(model, paths, n, m, cfg) for n, m in tqdm(settings, desc="timing", unit="n")]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ output
def write_outputs(table: pd.DataFrame, csv_path: str | Path, md_path: str | Path) -> str:
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    text = markdown_report(table, torch.get_num_threads())
    write_text(md_path, text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale cost", description=__doc__.splitlines()[0])
    parser.add_argument("--cfg", required=True,
                        help="JSON with 'cost', 'grid' and 'paper_model': the paper profile's "
                             "model section, for the paper rows")
    parser.add_argument("--model", required=True, help="stage-2 VisionTokenModel folder to time")
    parser.add_argument("--data-dir", required=True, help="data folder with images/ or pages/ pictures")
    parser.add_argument("--out", required=True, help="cost CSV")
    parser.add_argument("--markdown", required=True, help="cost tables and notes in markdown")
    args = parser.parse_args(argv)
    payload = parse_json_arg(args.cfg)
    cfg = config_section(CostConfig, payload, "cost")
    for section in ("grid", "paper_model"):
        if not payload.get(section):
            raise InputError(f"--cfg: missing the {section!r} section")

    paper = paper_table(payload["paper_model"], cfg.prompt)
    measured = measured_table(args.model, args.data_dir, payload["grid"], cfg)
    print(write_outputs(pd.concat([paper, measured], ignore_index=True), args.out, args.markdown))
    return 0
