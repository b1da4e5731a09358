"""Training settings: the ``train`` section (three stages plus shared keys) and the
``bootstrap`` sections of the demo backbones, each the loop settings plus its own keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Annotated

from vtscale.config_types import Fraction, NonNegInt, NonNegNum, OneOf, PosInt, PosNum, SomeOf, inherited
from vtscale.data.question_kinds import KINDS
from vtscale.errors import ConfigError, SectionError
from vtscale.launch import DISTRIBUTED_FLAGS, PRECISION_FLAGS
from vtscale.model.setting import Setting

STAGES = ("stage1", "stage2", "stage3")


@dataclass
class LoopConfig:
    """What the training loop (vtscale.train.loop) reads."""
    steps: PosInt | None = None       # optimizer steps; exclusive with epochs
    epochs: PosNum | None = None
    lr: PosNum = 2e-5
    warmup: Fraction = 0.0            # fraction of all optimizer steps
    batch_size: PosInt = 8            # per process, per micro-batch
    grad_accum: PosInt = 1
    max_samples: PosInt | None = None
    checkpoint_every: int = inherited(50)   # optimizer steps between resumable checkpoints (train.*)
    precision: str = inherited("fp32")      # fp32 | bf16 | fp16, the latter two only on a GPU (train.*)
    seed: int = inherited(0)                # the run's
    weight_decay: NonNegNum = 0.0     # AdamW's decoupled weight decay
    max_grad_norm: PosNum = 1.0       # gradient-norm clipping

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise SectionError(f"set exactly one of steps or epochs (got steps={self.steps}, "
                               f"epochs={self.epochs})")

    def total_steps(self, steps_per_epoch: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * steps_per_epoch))


SAMPLE_FORMS = ("question", "conversation")
LOSS_WEIGHTS = ("token", "answer")     # model.losses.generation_objective's weight
SampleForm = Annotated[str, OneOf(SAMPLE_FORMS)]
LossWeight = Annotated[str, OneOf(LOSS_WEIGHTS)]


@dataclass
class TrainConfig(LoopConfig):
    """One stage of ``train`` (train.stage1, .stage2, .stage3)."""
    n: PosInt | None = None           # stages 1-2: fused tokens trained (default max(grid.n))
    m: PosInt | None = None
    # stages 1-2 (stage 3 refuses it): each batch at one of these n instead (m capped at n), so the model
    # already speaks at every n stage 3 fine-tunes (empty: every batch at the stage's n)
    batch_ns: tuple[PosInt, ...] = ()
    cache_views: bool = False         # keep the ViT frozen, its outputs computed once per image
    samples: SampleForm = "conversation"   # conversation: one sample per record | question: per question
    warm_projection_steps: NonNegInt = 0   # stages 2-3: train the projection alone first
    warm_projection_lr: PosNum | None = None   # its learning rate (default: lr)
    loss_weight: LossWeight = "token"  # stages 2-3: mean over answer tokens | answer: over answers
    held_out: NonNegInt = 0           # stage 2: images kept out for the per-kind check (stage2_gate)
    probe_every: PosInt = 50          # steps between points of that check's curve
    # stages 2-3 with samples: question: each question of these kinds (vtscale.data.question_kinds)
    # appears this many times, e.g. {words: 5}: answers that need several cells, rare in the mixture
    kind_repeats: dict[str, PosInt] = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        unknown = sorted(set(self.kind_repeats) - set(KINDS))
        if unknown:
            raise SectionError(f"kind_repeats: {', '.join(unknown)}: not a question kind "
                               f"(expected some of {', '.join(KINDS)})")
        if self.kind_repeats and self.samples != "question":
            raise SectionError("kind_repeats: repeats single questions (set samples: question)")

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
    samples: SampleForm = "question"  # question: one sample per question | conversation
    identity: Annotated[str, OneOf(IDENTITY_FORMS)] = "per_question"
    answer_mask_sigma: PosNum | None = None   # zero answer-embedding entries beyond mean ± σ·std
    answer_head: bool = True          # fresh W_t after the text tower's projection
    train_vision_tower: bool = False
    train_text_tower: bool = False    # with its extended position embeddings

    def __post_init__(self):
        super().__post_init__()
        if self.cache_views and self.train_vision_tower:
            raise ConfigError("config error: train.stage1.cache_views: caches the frozen vision "
                              "tower's outputs, so it excludes train_vision_tower")
        if self.kind_repeats:
            raise ConfigError("config error: train.stage1.kind_repeats: stages 2-3 only")
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
    checkpoint_every: PosInt = 50
    precision: Annotated[str, OneOf(tuple(PRECISION_FLAGS))] = "fp32"
    num_processes: PosInt = 1
    distributed: Annotated[str, OneOf(tuple(DISTRIBUTED_FLAGS))] = "ddp"

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
    dense_weight: NonNegNum = 0.0     # weight of the per-patch cell-label loss
    # patch: what each patch shows | cell: each grid cell's item
    dense_labels: Annotated[str, OneOf(DENSE_LABELS)] = "patch"
    dense_balanced: bool = False      # dense loss: positions showing a field weigh as much as empty ones
    crops: Annotated[tuple[str, ...], SomeOf(CLIP_CROPS)] = CLIP_CROPS   # region-caption crops per scene
    extra_scenes: NonNegInt = 0       # fresh scenes from the world's generator (train/clip_scenes.py)
    gate_every: PosInt = 200          # steps between points of the ViT gate's learning curve


LM_CONTEXTS = ("structured", "description", "none")


@dataclass
class BootstrapLMConfig(LoopConfig):
    """``bootstrap.lm`` (demo): the small Llama pretrained on the demo world's text."""
    # what opens a sample's first turn
    contexts: Annotated[tuple[str, ...], SomeOf(LM_CONTEXTS)] = LM_CONTEXTS
    samples: SampleForm = "conversation"   # conversation: whole | question: one question per sample
    init_std: PosNum | None = None    # weight init std; None: hidden_size ** -0.5
    held_out: PosInt = 200            # conversations (scenes) kept out for the reading gate
    gate_every: PosInt = 500          # steps between points of the gate's learning curve


@dataclass
class BootstrapSection:
    """The ``bootstrap`` section (demo and tiny profiles; null in the paper profile)."""
    clip: BootstrapClipConfig | None = None
    lm: BootstrapLMConfig | None = None
