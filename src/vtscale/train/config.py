"""Training settings: the ``train`` section (three stages plus shared keys) and the
``bootstrap`` sections of the demo backbones, each the loop settings plus its own keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from vtscale.config import ConfigError, check_choice
from vtscale.model.setting import Setting

STAGES = ("stage1", "stage2", "stage3")


@dataclass
class LoopConfig:
    """What the training loop (vtscale.train.loop) reads."""
    steps: int | None = None          # optimizer steps; exclusive with epochs
    epochs: float | None = None
    lr: float = 2e-5
    warmup: float = 0.0               # fraction of all optimizer steps
    batch_size: int = 8               # per process, per micro-batch
    grad_accum: int = 1
    max_samples: int | None = None
    checkpoint_every: int = 50        # optimizer steps between resumable checkpoints
    precision: str = "fp32"           # fp32 | bf16 | fp16 (the latter two only on a GPU)
    seed: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ConfigError("config error: a training stage needs exactly one of "
                              f"'steps' or 'epochs' (got steps={self.steps}, epochs={self.epochs})")

    def total_steps(self, steps_per_epoch: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * steps_per_epoch))


SAMPLE_FORMS = ("question", "conversation")
LOSS_WEIGHTS = ("token", "answer")     # model.losses.generation_objective's weight


@dataclass
class TrainConfig(LoopConfig):
    """One stage of ``train`` (train.stage1, .stage2, .stage3)."""
    n: int | None = None              # stages 1-2: fused tokens trained (default max(grid.n))
    m: int | None = None
    cache_views: bool = False         # keep the ViT frozen, its outputs computed once per image
    samples: str = "conversation"     # conversation: one sample per record | question: per question
    warm_projection_steps: int = 0    # stages 2-3: train the projection alone first
    warm_projection_lr: float | None = None   # its learning rate (default: lr)
    loss_weight: str = "token"        # stages 2-3: mean over answer tokens | answer: over answers
    held_out: int = 0                 # stage 2: images kept out for the per-kind check (stage2_gate)
    probe_every: int = 50             # steps between points of that check's curve

    def __post_init__(self):
        super().__post_init__()
        check_choice(f"train.{self.key}.samples", self.samples, SAMPLE_FORMS)
        check_choice(f"train.{self.key}.loss_weight", self.loss_weight, LOSS_WEIGHTS)

    key = "<stage>"                   # the section's name in messages (a class attribute)

    def projection_warmup(self) -> LoopConfig | None:
        """The loop settings of the projection-only warm-up, if any."""
        if not self.warm_projection_steps:
            return None
        return LoopConfig(steps=self.warm_projection_steps, lr=self.warm_projection_lr or self.lr,
                          warmup=0.1, batch_size=self.batch_size, grad_accum=self.grad_accum,
                          max_samples=self.max_samples, checkpoint_every=self.checkpoint_every,
                          precision=self.precision, seed=self.seed,
                          weight_decay=self.weight_decay, max_grad_norm=self.max_grad_norm)


IDENTITY_FORMS = ("per_question", "batch")


@dataclass
class Stage1Config(TrainConfig):
    """``train.stage1``: the loop settings plus how the contrastive stage is formed.
    Defaults: single-question samples, frozen CLIP towers, a fresh answer head and the
    per-question identity term; the authors' code: whole conversations, both towers
    trained, the text tower's own projection, the answers' ±1σ mask and one identity
    term over the batch (config/paper.yaml)."""
    key = "stage1"
    samples: str = "question"         # question: one sample per question | conversation
    identity: str = "per_question"    # per_question | batch
    answer_mask_sigma: float | None = None   # zero answer-embedding entries beyond mean ± σ·std
    answer_head: bool = True          # fresh W_t after the text tower's projection
    train_vision_tower: bool = False
    train_text_tower: bool = False    # with its extended position embeddings

    def __post_init__(self):
        super().__post_init__()
        check_choice("train.stage1.identity", self.identity, IDENTITY_FORMS)
        if self.answer_mask_sigma is not None and self.answer_mask_sigma <= 0:
            raise ConfigError(f"config error: train.stage1.answer_mask_sigma="
                              f"{self.answer_mask_sigma}: must be positive")
        if self.cache_views and (self.train_vision_tower or self.train_text_tower):
            raise ConfigError("config error: train.stage1.cache_views: caches frozen towers, "
                              "so it excludes train_vision_tower and train_text_tower")
        if self.m is not None and self.samples == "question":
            raise ConfigError("config error: train.stage1.m: single-question samples have no "
                              "later questions (set samples: conversation)")
        if self.m is not None and self.n is not None:
            Setting(self.n, self.m).check(where="train.stage1.")

    def objective(self):
        """The loss-side settings (model.losses.Stage1Objective; imported here, not at
        the top, so that checking a config does not import torch)."""
        from vtscale.model.losses import Stage1Objective
        return Stage1Objective(self.identity, self.answer_mask_sigma, self.answer_head)


@dataclass
class TrainSection:
    """The whole ``train`` section; launch.py reads num_processes and distributed."""
    stage1: Stage1Config | None = None
    stage2: TrainConfig | None = None
    stage3: TrainConfig | None = None
    checkpoint_every: int = 50
    precision: str = "fp32"
    num_processes: int = 1
    distributed: str = "ddp"

    def stage(self, key: str, seed: int) -> TrainConfig:
        """``train.<key>`` with the shared checkpoint_every and precision and the run's seed."""
        config = getattr(self, key)
        if config is None:
            raise ConfigError(f"config error: train.{key}: missing")
        return replace(config, checkpoint_every=self.checkpoint_every, precision=self.precision,
                       seed=int(seed))


DENSE_LABELS = ("patch", "cell")
CLIP_CROPS = ("whole", "quadrants", "random")    # vtscale.train.clip_regions.CROPS


@dataclass
class BootstrapClipConfig(LoopConfig):
    """``bootstrap.clip`` (demo): the CLIP pretrained on the demo world."""
    dense_weight: float = 0.0         # weight of the per-patch cell-label loss
    dense_labels: str = "patch"       # patch: what each patch shows | cell: each grid cell's item
    dense_balanced: bool = False      # dense loss: positions showing a field weigh as much as empty ones
    crops: tuple = ("whole", "quadrants", "random")   # region-caption crops of each scene
    extra_scenes: int = 0             # fresh scenes from the world's generator (train/clip_scenes.py)
    gate_every: int = 200             # steps between points of the ViT gate's learning curve

    def __post_init__(self):
        super().__post_init__()
        check_choice("bootstrap.clip.dense_labels", self.dense_labels, DENSE_LABELS)
        self.crops = tuple(self.crops)
        for crop in self.crops:
            check_choice("bootstrap.clip.crops", crop, CLIP_CROPS)


LM_CONTEXTS = ("structured", "description", "none")


@dataclass
class BootstrapLMConfig(LoopConfig):
    """``bootstrap.lm`` (demo): the small Llama pretrained on the demo world's text."""
    contexts: tuple = ("structured", "description", "none")   # what opens a sample's first turn
    samples: str = "conversation"     # conversation: whole | question: one question per sample
    init_std: float | None = None     # weight init std; None: hidden_size ** -0.5
    held_out: int = 200               # conversations (scenes) kept out for the reading gate
    gate_every: int = 500             # steps between points of the gate's learning curve

    def __post_init__(self):
        super().__post_init__()
        self.contexts = tuple(self.contexts)
        for context in self.contexts:
            check_choice("bootstrap.lm.contexts", context, LM_CONTEXTS)
        check_choice("bootstrap.lm.samples", self.samples, SAMPLE_FORMS)
