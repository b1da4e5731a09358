"""The training loop every stage shares: accelerate, AdamW, cosine schedule with warm-up,
gradient accumulation and clipping, per-step metrics, resumable checkpoints.

A rerun after a kill resumes from the newest checkpoint in ``ckpt_dir`` and, on the
same hardware, reaches exactly the result of an uninterrupted run: the data order is a
pure function of (seed, epoch), consumed batches are skipped, and model, optimizer,
scheduler and RNG states come back from the checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from vtscale.train.checkpoint import (check_readable, latest_checkpoint, load_checkpoint,
                                      save_checkpoint)
from vtscale.train.config import LoopConfig
from vtscale.train.metrics import MetricsCSV, read_metrics

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module, Any], dict]
StepHook = Callable[[int, dict], None]     # (optimizer step, its metrics row) -> None


@dataclass
class Task:
    """What to train: ``loss(model, batch)`` returns a dict with 'loss' (and loss parts)."""
    model: nn.Module
    parameters: Sequence[nn.Parameter]
    dataset: Dataset
    collate: Callable[[list], Any]
    loss: LossFn
    count_tokens: Callable[[Any], int] = field(default=lambda batch: count_tokens(batch))


@dataclass
class TrainResult:
    steps: int
    resumed_from: int
    wall_time_s: float
    samples: int
    samples_per_s: float
    tokens_per_s: float
    first_loss: float | None
    final_loss: float | None
    is_main_process: bool
    num_processes: int = 1


def count_tokens(batch: Any) -> int:
    """Text tokens in a batch: attention-mask ones, else input_ids entries, else 0."""
    if not isinstance(batch, dict):
        return 0
    if isinstance(batch.get("attention_mask"), torch.Tensor):
        return int(batch["attention_mask"].sum())
    if isinstance(batch.get("input_ids"), torch.Tensor):
        return batch["input_ids"].numel()
    return 0


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch that uses no global RNG, so resuming mid-run
    replays the same order (set_epoch before iterating)."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())


class CountingCollate:
    """Wraps a collate function so each batch also carries its number of samples."""

    def __init__(self, collate: Callable[[list], Any]):
        self.collate = collate

    def __call__(self, samples: list) -> dict:
        return {"n_samples": len(samples), "batch": self.collate(samples)}


class LossModule(nn.Module):
    """Routes ``forward`` to the task's loss so DDP sees a forward call on every step."""

    def __init__(self, model: nn.Module, loss: LossFn):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, batch):
        return self.loss(self.model, batch)


def make_accelerator(cfg: LoopConfig) -> Accelerator:
    mixed = cfg.precision if cfg.precision in ("bf16", "fp16") and torch.cuda.is_available() else "no"
    return Accelerator(
        mixed_precision=mixed,
        cpu=not torch.cuda.is_available(),
        rng_types=[],
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def freeze_all_but(model: nn.Module, parameters: Sequence[nn.Parameter]) -> None:
    keep = {id(p) for p in parameters}
    for p in model.parameters():
        p.requires_grad_(id(p) in keep)


def micro_batch_groups(n_batches: int, grad_accum: int, start_step: int) -> Iterator[int]:
    """Sizes of the accumulation groups of one epoch from optimizer step ``start_step``;
    the last group of an epoch may be short."""
    for start in range(start_step * grad_accum, n_batches, grad_accum):
        yield min(grad_accum, n_batches - start)


class Trainer:
    def __init__(self, task: Task, cfg: LoopConfig, ckpt_dir: str | Path,
                 metrics_path: str | Path, desc: str = "train", on_step: StepHook | None = None,
                 inputs: str = ""):
        self.task, self.cfg, self.desc, self.on_step = task, cfg, desc, on_step
        self.inputs = inputs
        self.ckpt_dir, self.metrics_path = Path(ckpt_dir), Path(metrics_path)
        set_seed(cfg.seed)
        self.accelerator = make_accelerator(cfg)
        freeze_all_but(task.model, task.parameters)
        task.model.train()
        self.sampler = EpochSampler(len(task.dataset), cfg.seed)
        loader = DataLoader(task.dataset, batch_size=cfg.batch_size, sampler=self.sampler,
                            collate_fn=CountingCollate(task.collate), generator=torch.Generator())
        optimizer = torch.optim.AdamW(list(task.parameters), lr=cfg.lr,
                                      weight_decay=cfg.weight_decay)
        module = LossModule(task.model, task.loss)
        self.frozen = {name for name, p in module.named_parameters() if not p.requires_grad}
        self.accelerator.register_save_state_pre_hook(self.drop_frozen_weights)
        self.module, self.optimizer, self.loader = self.accelerator.prepare(module, optimizer, loader)
        self.batches_per_epoch = len(self.loader)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / cfg.grad_accum)
        self.total_steps = cfg.total_steps(self.steps_per_epoch)
        # Stepped by hand once per optimizer step (not prepared: accelerate would step it
        # once per process); registered so save_state/load_state carry it.
        self.scheduler = get_cosine_schedule_with_warmup(
            self.optimizer, round(cfg.warmup * self.total_steps), self.total_steps)
        self.accelerator.register_for_checkpointing(self.scheduler)

    def drop_frozen_weights(self, models, weights, output_dir) -> None:
        """Checkpoints hold only what trains: the frozen LLM (7B in the paper) is
        rebuilt from its source on resume, not copied into every checkpoint."""
        for state in weights:
            for key in [k for k in state if k.removeprefix("module.") in self.frozen]:
                del state[key]

    def fingerprint(self) -> str:
        """What a checkpoint must match to be resumed: the training settings (except how
        often to checkpoint), the trainable weights' names and shapes, the data size, and
        the digest of what the run was built from (vtscale.train.fingerprint)."""
        settings = {k: v for k, v in dataclasses.asdict(self.cfg).items() if k != "checkpoint_every"}
        shapes = sorted((name, list(p.shape)) for name, p in self.task.model.named_parameters()
                        if p.requires_grad)
        payload = json.dumps({"cfg": settings, "params": shapes, "samples": len(self.task.dataset),
                              "inputs": self.inputs},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def resume(self) -> int:
        """The step to start from: that of the newest checkpoint this run wrote, or 0.
        A checkpoint of other inputs is removed; a broken one is skipped with a warning."""
        while (checkpoint := latest_checkpoint(self.ckpt_dir)) is not None:
            try:
                state = check_readable(checkpoint)
                if state.get("fingerprint") != self.fingerprint():
                    log.warning("%s was written by a run with other settings, weights, data "
                                "or code: starting over", checkpoint)
                    self.remove(self.ckpt_dir)
                    return 0
                load_checkpoint(self.accelerator, checkpoint)
            except Exception as err:  # noqa: BLE001 - any unreadable file: not resumable
                reason = str(err).splitlines()[0][:200] if str(err) else ""
                log.warning("%s cannot be read (%s: %s): skipping it", checkpoint,
                            type(err).__name__, reason)
                self.remove(checkpoint)
                continue
            if state.get("total_steps") != self.total_steps:
                log.warning("%s was written for %s total steps, this run has %s",
                            checkpoint, state.get("total_steps"), self.total_steps)
            log.info("resuming from %s (step %d)", checkpoint, state["step"])
            return int(state["step"])
        return 0

    def remove(self, path: Path) -> None:
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            shutil.rmtree(path, ignore_errors=True)
        self.accelerator.wait_for_everyone()

    def epoch_batches(self, epoch: int, start_step: int):
        # accelerate's loaders call set_epoch(their own counter) when iterated, which
        # restarts at 0 in a resumed run: tell them the true epoch.
        skip = start_step * self.cfg.grad_accum
        loader = self.accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
        loader.set_epoch(epoch)
        return loader

    def optimizer_step(self, batches: Iterator, group_size: int) -> dict:
        """Forward/backward ``group_size`` micro-batches, then clip and step once."""
        sums: dict[str, float] = {}
        samples = tokens = 0
        for i in range(group_size):
            item = next(batches)
            batch = item["batch"]
            last = i == group_size - 1
            sync = contextlib.nullcontext() if last else self.accelerator.no_sync(self.module)
            with sync:
                out = self.module(batch)
                self.accelerator.backward(out["loss"] / group_size)
            for name, value in out.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            samples += int(item["n_samples"])
            tokens += self.task.count_tokens(batch)
        grad_norm = self.accelerator.clip_grad_norm_(self.task.parameters, self.cfg.max_grad_norm)
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        means = {k: v / group_size for k, v in sums.items()}
        return {**self.reduce(means), "grad_norm": float(grad_norm), "lr": lr,
                "samples": self.reduce_sum(samples), "tokens": self.reduce_sum(tokens)}

    def reduce(self, values: dict[str, float]) -> dict[str, float]:
        if self.accelerator.num_processes == 1:
            return values
        names = sorted(values)
        stacked = torch.tensor([values[n] for n in names], device=self.accelerator.device)
        reduced = self.accelerator.reduce(stacked, reduction="mean")
        return dict(zip(names, reduced.tolist()))

    def reduce_sum(self, value: int) -> int:
        if self.accelerator.num_processes == 1:
            return value
        tensor = torch.tensor([value], device=self.accelerator.device)
        return int(self.accelerator.reduce(tensor, reduction="sum").item())

    def run(self) -> TrainResult:
        start = self.resume()
        main = self.accelerator.is_main_process
        metrics = MetricsCSV(self.metrics_path, resume_step=start) if main else None
        step, first_loss, final_loss, samples, tokens = start, None, None, 0, 0
        began = time.perf_counter()
        progress = tqdm(total=self.total_steps, initial=start, desc=self.desc, disable=not main)
        while step < self.total_steps:
            epoch, step_in_epoch = divmod(step, self.steps_per_epoch)
            batches = iter(self.epoch_batches(epoch, step_in_epoch))
            for group in micro_batch_groups(self.batches_per_epoch, self.cfg.grad_accum,
                                            step_in_epoch):
                tick = time.perf_counter()
                row = self.optimizer_step(batches, group)
                seconds = time.perf_counter() - tick
                step += 1
                samples, tokens = samples + row["samples"], tokens + row["tokens"]
                first_loss = row["loss"] if first_loss is None else first_loss
                final_loss = row["loss"]
                row.update(step=step, epoch=epoch, samples_per_s=row.pop("samples") / seconds,
                           tokens_per_s=row.pop("tokens") / seconds)
                if metrics:
                    metrics.append(row)
                if self.on_step:
                    self.on_step(step, row)
                progress.update(1)
                progress.set_postfix(loss=f"{row['loss']:.4f}")
                if step % self.cfg.checkpoint_every == 0 or step == self.total_steps:
                    self.save(step, epoch)
                if step >= self.total_steps:
                    break
            else:
                drain(batches)
        progress.close()
        wall = time.perf_counter() - began
        if main:  # the whole run's curve, including steps done before a resume
            losses = [row["loss"] for row in read_metrics(self.metrics_path)]
            first_loss, final_loss = (losses[0], losses[-1]) if losses else (None, None)
        return TrainResult(steps=step, resumed_from=start, wall_time_s=wall, samples=samples,
                           samples_per_s=samples / wall if wall else 0.0,
                           tokens_per_s=tokens / wall if wall else 0.0,
                           first_loss=first_loss, final_loss=final_loss, is_main_process=main,
                           num_processes=self.accelerator.num_processes)

    def save(self, step: int, epoch: int) -> None:
        save_checkpoint(self.accelerator, self.ckpt_dir,
                        {"step": step, "epoch": epoch, "total_steps": self.total_steps,
                         "seed": self.cfg.seed, "fingerprint": self.fingerprint()})

    def unwrapped_model(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.module).model


def drain(batches: Iterator) -> None:
    """Run an epoch's iterator to its end so accelerate closes its dataloader state."""
    for _ in batches:
        pass


def train(task: Task, cfg: LoopConfig, ckpt_dir: str | Path, metrics_path: str | Path,
          desc: str = "train", on_step: StepHook | None = None,
          inputs: str = "") -> tuple[nn.Module, TrainResult]:
    """Train ``task`` (resuming from ``ckpt_dir``); return the unwrapped model and stats.
    ``on_step`` runs in every process after each optimizer step (e.g. a held-out check);
    ``inputs``: the digest of the files the run reads (vtscale.train.fingerprint), so only a
    run built from the same inputs resumes a checkpoint."""
    trainer = Trainer(task, cfg, ckpt_dir, metrics_path, desc, on_step, inputs)
    result = trainer.run()
    trainer.accelerator.wait_for_everyone()
    return trainer.unwrapped_model(), result
