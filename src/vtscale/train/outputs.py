"""What every training command writes besides the model: the run summary JSON."""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path
from typing import Any

import torch

from vtscale.io import write_json
from vtscale.train.config import TrainConfig
from vtscale.train.loop import TrainResult


def run_summary(name: str, result: TrainResult, cfg: TrainConfig, **extra: Any) -> dict:
    summary = {"run": name, **dataclasses.asdict(result), "config": dataclasses.asdict(cfg),
               "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
               "torch_threads": torch.get_num_threads(), **extra}
    summary.pop("is_main_process")
    return summary


def write_summary(path: str | Path, name: str, result: TrainResult, cfg: TrainConfig,
                  **extra: Any) -> dict:
    summary = run_summary(name, result, cfg, **extra)
    write_json(path, summary)
    return summary
