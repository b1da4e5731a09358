"""Resumable training state: ``accelerator.save_state`` into a temporary folder, then a
rename, so a run killed mid-save never leaves a half-written checkpoint behind."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors.torch import load_file

log = logging.getLogger(__name__)

PREFIX = "step_"
STATE_FILE = "trainer_state.json"


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The newest complete checkpoint (one with its trainer state), if any."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return None
    done = [p for p in ckpt_dir.glob(f"{PREFIX}*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: p.name, default=None)


def read_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / STATE_FILE).read_text())


def save_checkpoint(accelerator: Accelerator, ckpt_dir: str | Path, state: dict) -> Path:
    """Every process calls this (each saves its own RNG state); the main process renames."""
    ckpt_dir = Path(ckpt_dir)
    final = ckpt_dir / checkpoint_name(state["step"])
    tmp = ckpt_dir / f".{final.name}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        remove_older(ckpt_dir, keep=final)
        log.info("checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


def remove_older(ckpt_dir: Path, keep: Path) -> None:
    """Only the newest checkpoint is needed to resume; older ones just take disk."""
    for path in ckpt_dir.glob(f"{PREFIX}*"):
        if path != keep and path.name < keep.name:
            shutil.rmtree(path, ignore_errors=True)


def check_readable(checkpoint: Path) -> dict:
    """Read every file of ``checkpoint`` without touching the model (tensors with
    ``weights_only=True``) and return its trainer state; raise on the first broken file,
    so a truncated checkpoint is skipped before it half-loads into a model."""
    state = read_state(checkpoint)
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise ValueError(f"{STATE_FILE}: no integer 'step'")
    for path in sorted(checkpoint.rglob("*")):
        if path.suffix == ".safetensors":
            load_file(str(path))
        elif path.suffix in (".bin", ".pt", ".pth"):
            torch.load(path, map_location="cpu", weights_only=True)
    return state


def load_checkpoint(accelerator: Accelerator, checkpoint: Path) -> None:
    """Into the prepared model, optimizer and scheduler; call ``check_readable`` first."""
    accelerator.load_state(str(checkpoint), strict=False)  # frozen weights are not saved


def clear_checkpoints(ckpt_dir: str | Path) -> None:
    """Called once the run's output is written: checkpoints exist only to finish a run,
    so a forced rerun of a finished stage starts fresh instead of resuming its end."""
    shutil.rmtree(ckpt_dir, ignore_errors=True)
