"""Resumable training state: ``accelerator.save_state`` into a temporary folder, then a
rename, so a run killed mid-save never leaves a half-written checkpoint behind."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from accelerate import Accelerator

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


def load_checkpoint(accelerator: Accelerator, checkpoint: Path) -> dict:
    accelerator.load_state(str(checkpoint), strict=False)  # frozen weights are not saved
    return read_state(checkpoint)
