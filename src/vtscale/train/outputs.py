"""What every training command writes besides the model (the run summary JSON), and
what the two demo backbone commands (bootstrap-clip, bootstrap-lm) share."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import platform
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import torch
from torch import nn

from vtscale.config import config_section, parse_json_arg
from vtscale.io import atomic_dir, write_json
from vtscale.train.checkpoint import clear_checkpoints
from vtscale.train.config import LoopConfig
from vtscale.train.fingerprint import inputs_digest
from vtscale.train.loop import StepHook, Task, TrainResult, train

log = logging.getLogger(__name__)

Loop = TypeVar("Loop", bound=LoopConfig)


def run_summary(name: str, result: TrainResult, cfg: LoopConfig, **extra: Any) -> dict:
    summary = {"run": name, **dataclasses.asdict(result), "config": dataclasses.asdict(cfg),
               "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
               "torch_threads": torch.get_num_threads(), **extra}
    summary.pop("is_main_process")
    return summary


def write_summary(path: str | Path, name: str, result: TrainResult, cfg: LoopConfig,
                  **extra: Any) -> dict:
    summary = run_summary(name, result, cfg, **extra)
    write_json(path, summary)
    return summary


def train_backbone(task: Task, cfg: LoopConfig, ckpt_dir: str | Path, out: str | Path, name: str,
                   save: Callable[[nn.Module, Path], None], inputs: Sequence[str | Path],
                   on_step: StepHook | None = None, **extra: Any) -> TrainResult:
    """Train a demo backbone (resumable in ``ckpt_dir`` by a run that reads the same
    ``inputs``) and write ``out`` whole: the model via ``save(model, folder)``, its loss
    curve (metrics.csv) and summary.json; then drop the checkpoints."""
    metrics = Path(ckpt_dir) / "metrics.csv"
    model, result = train(task, cfg, ckpt_dir, metrics, desc=name.replace("_", "-"),
                          on_step=on_step, inputs=inputs_digest(inputs))
    if result.is_main_process:
        with atomic_dir(out) as tmp:
            save(model, tmp)
            shutil.copy(metrics, tmp / "metrics.csv")
            write_summary(tmp / "summary.json", name, result, cfg, **extra)
        clear_checkpoints(ckpt_dir)
        log.info("%s loss %.4f -> %.4f in %.1f s", name, result.first_loss or float("nan"),
                 result.final_loss or float("nan"), result.wall_time_s)
    return result


def backbone_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The options both backbone commands take; each adds its own inputs."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--cfg", required=True, help="JSON with bootstrap, model, seed")
    parser.add_argument("--descriptions", required=True, help="the world's descriptions.json")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--ckpt-dir", required=True,
                        help="checkpoint folder: a rerun that reads the same inputs resumes from its last "
                        "checkpoint; removed once the model is saved")
    return parser


def backbone_config(cls: type[Loop], cfg: str, backbone: str) -> tuple[Loop, dict[str, Any]]:
    """``bootstrap.<backbone>`` of the ``--cfg`` JSON with the run's seed, and the whole payload."""
    payload = parse_json_arg(cfg)
    section = config_section(cls, payload, f"bootstrap.{backbone}")
    return dataclasses.replace(section, seed=int(payload.get("seed", 0))), payload
