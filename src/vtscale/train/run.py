"""``vtscale train --stage {1,2,3}``: the paper's three training stages (docs/design.md §3).

1. contrastive, from the backbones (``--vision-init/--llm-init``), ``train.stage1``
   (single questions or whole conversations);
2. generation, from ``--init``;
3. generation on the stage-3 subset, from ``--init`` (``--no-question`` drops the question).
Each stage runs at the given ``--n/--m`` (the workflow's: train/stage_setting.py for
stages 1-2, each grid setting for stage 3). All three run through the shared resumable
loop; the LLM is always frozen. The saved model records the setting it was trained for
(n, m, stage-3 kind; model/folder.py).
"""

from __future__ import annotations

import argparse
import copy
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import set_seed

from vtscale.config import config_section, parse_json_arg
from vtscale.data.conversations import ConversationDataset, RecordDataset, load_image
from vtscale.data.sample import Sample
from vtscale.errors import ConfigError
from vtscale.model.folder import TrainedSetting
from vtscale.model.setting import Setting
from vtscale.train.checkpoint import clear_checkpoints
from vtscale.train.config import Stage1Config, TrainConfig, TrainSection
from vtscale.train.fingerprint import inputs_digest
from vtscale.train.gates import GATE_FILE, write_gate
from vtscale.train.loop import Task, train
from vtscale.train.metrics import summary_path_for
from vtscale.train.outputs import write_summary
from vtscale.data.question_kinds import at_most_per_kind, repeated_by_kind
from vtscale.train.stage2_gate import (BlindBaselines, Stage2Probe, first_question_kind, single_turns,
                                       split_by_image)
from vtscale.train.stage1_data import (CachedConversationCollate, ConversationContrastiveCollate,
                                       FrozenPatchCache, GenerationCollate, QuestionCollate,
                                       QuestionDataset)

log = logging.getLogger(__name__)

PROBE_PER_KIND = 100      # held-out questions per kind in stage 2's per-kind check


@dataclass(frozen=True)
class TrainPaths:
    """What one ``vtscale train`` reads and writes."""
    data: str                         # LLaVA-format training json
    image_root: str
    out: str
    ckpt_dir: str
    metrics: str
    summary: str | None = None        # None: derived from metrics
    init: str | None = None           # stages 2-3: the previous stage's model folder
    vision_init: str | None = None    # stage 1: the backbones
    llm_init: str | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vtscale train", description=__doc__)
    parser.add_argument("--stage", type=int, choices=(1, 2, 3), required=True,
                        help="1: align the fusion module; 2: generation fine-tune; 3: per-(n, m) fine-tune")
    parser.add_argument("--cfg", required=True, help="JSON with model, train, seed")
    parser.add_argument("--vision-init", help="stage 1: backbone CLIP (bootstrap folder in the demo)")
    parser.add_argument("--llm-init", help="stage 1: backbone LLM folder or hub id")
    parser.add_argument("--init", help="stages 2 and 3: the previous stage's model folder")
    parser.add_argument("--n", type=int, help="fused tokens for the first question (every stage)")
    parser.add_argument("--m", type=int, help="fused tokens for each later question (every stage)")
    parser.add_argument("--no-question", action="store_true", help="stage 3: drop the question text")
    parser.add_argument("--data", required=True, help="LLaVA-format training json")
    parser.add_argument("--image-root", required=True, help="folder the --data image paths are relative to")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--ckpt-dir", required=True,
                        help="checkpoint folder: a rerun that reads the same inputs resumes from its last "
                        "checkpoint; removed once the model is saved")
    parser.add_argument("--metrics", required=True, help="per-step metrics CSV")
    parser.add_argument("--summary", help="run summary JSON (default: next to the Snakemake "
                        "benchmark file, derived from --metrics)")
    return parser.parse_args(argv)


def check_flags(args: argparse.Namespace) -> None:
    if args.stage == 1 and args.init:
        raise ConfigError("--init: stage 1 starts from the backbones (--vision-init/--llm-init)")
    if args.stage in (2, 3) and not args.init:
        raise ConfigError(f"--init: stage {args.stage} needs the previous stage's model folder")
    if args.n is None or args.m is None:
        raise ConfigError(f"--n/--m: stage {args.stage} needs both")
    if args.no_question and args.stage != 3:
        raise ConfigError("--no-question: only stage 3 has a no-question variant")


def flag_setting(args: argparse.Namespace) -> Setting:
    return Setting(args.n, args.m, use_question=not args.no_question).check(where="--")


def flag_paths(args: argparse.Namespace) -> TrainPaths:
    return TrainPaths(args.data, args.image_root, args.out, args.ckpt_dir, args.metrics, args.summary,
                      args.init, args.vision_init, args.llm_init)


def build_model(stage: int, model_section: dict, paths: TrainPaths):
    from vtscale.model.config import ModelConfig
    from vtscale.model.vlm import VisionTokenModel
    if stage == 1:
        return VisionTokenModel.from_config(config_section(ModelConfig, {"model": model_section}, "model"),
                                            vision_init=paths.vision_init, llm_init=paths.llm_init)
    return VisionTokenModel.from_pretrained(paths.init)


def count_vlm_tokens(batch: dict[str, Any]) -> int:
    """LLM tokens (stages 2/3) or fusion tokens (stage 1) in a collated batch."""
    for key in ("llm_mask", "fusion_mask"):
        if isinstance(batch.get(key), torch.Tensor):
            return int(batch[key].sum())
    return 0


def load_dataset(stage: int, paths: TrainPaths, train_cfg: TrainConfig):
    """Stage 1: one sample per question (each question group has its own contrastive
    target) or per conversation (train.stage1.samples); stages 2 and 3: one multi-turn
    conversation per sample, or one question per sample (train.stageN.samples: question,
    the layout every benchmark question has). Records only where the collate reads the
    images (stage-1 conversations, cached views)."""
    if stage == 1 and train_cfg.samples == "question":
        return QuestionDataset(paths.data, paths.image_root, train_cfg.max_samples, seed=train_cfg.seed)
    records = stage == 1 or train_cfg.cache_views
    kind = RecordDataset if records else ConversationDataset
    dataset = kind(paths.data, paths.image_root, train_cfg.max_samples, seed=train_cfg.seed)
    if stage > 1 and train_cfg.samples == "question":
        dataset.records = single_turns(dataset.records, kinds=None)
    return dataset


def hold_out_images(dataset, train_cfg: TrainConfig) -> list:
    """Stage 2's held-out check: take ``held_out`` images' records out of ``dataset``
    and return them (empty when none are held out)."""
    if not train_cfg.held_out:
        return []
    dataset.records, held = split_by_image(dataset.records, train_cfg.held_out, train_cfg.seed)
    return held


def repeat_kinds(dataset, train_cfg: TrainConfig) -> None:
    """train.stageN.kind_repeats: each question of those kinds that many times. After
    the hold-out, so that the check's questions stay unique."""
    if train_cfg.kind_repeats:
        dataset.records = repeated_by_kind(dataset.records, train_cfg.kind_repeats, first_question_kind)


def leave_out_stage2_check(dataset: QuestionDataset, stage2: TrainConfig) -> None:
    """Stage 1 reads the same file: drop the images stage 2 holds out for its check, so
    that the check's images are new to both stages."""
    if not stage2.held_out:
        return
    records = list({id(r): r for r, _ in dataset.items}.values())
    _, held = split_by_image(records, stage2.held_out, stage2.seed)
    held_images = {r.image for r in held}
    dataset.items = [(r, k) for r, k in dataset.items if r.image not in held_images]


def make_task(stage: int, model, dataset, setting: Setting, train_cfg: TrainConfig) -> Task:
    """``train_cfg.cache_views``: the vision tower stays frozen and each image's patch
    tokens are computed once; ``train_cfg.batch_ns``: each batch at one of these n."""
    setting.check(model.cfg.fusion.max_tokens)
    if stage == 3 and train_cfg.batch_ns:
        raise ConfigError("config error: train.stage3.batch_ns: stage 3 trains its own setting only")
    for n in train_cfg.batch_ns:
        setting.at_n(n).check(model.cfg.fusion.max_tokens, where=f"train.stage{stage}.batch_ns ")
    if stage == 1:
        return contrastive_task(model, dataset, setting, train_cfg)
    # freezes first: the cache checks it
    parameters = model.trainable_parameters(stage, train_vision=not train_cfg.cache_views)
    if train_cfg.cache_views:
        collate = CachedConversationCollate(model, setting, FrozenPatchCache(model), train_cfg.batch_ns)
    else:
        collate = GenerationCollate(model, setting, train_cfg.batch_ns)
    return Task(model=model, parameters=parameters, dataset=dataset, collate=collate,
                loss=partial(generation, weight=train_cfg.loss_weight), count_tokens=count_vlm_tokens)


def contrastive_task(model, dataset, setting: Setting, stage1: Stage1Config) -> Task:
    """Stage 1: towers frozen unless train.stage1 trains them (the caches refuse
    trainable towers); single questions or whole conversations."""
    parameters = model.trainable_parameters(1, train_vision=stage1.train_vision_tower,
                                            train_text=stage1.train_text_tower,
                                            answer_head=stage1.answer_head)
    cache = FrozenPatchCache(model) if stage1.cache_views else None
    kind = QuestionCollate if stage1.samples == "question" else ConversationContrastiveCollate
    collate = kind(model, setting, cache, stage1.batch_ns)
    return Task(model=model, parameters=parameters, dataset=dataset, collate=collate,
                loss=partial(contrastive, objective=stage1.objective()), count_tokens=count_vlm_tokens)


def contrastive(model, batch, objective) -> dict:
    return model.contrastive_loss(batch, objective)


def generation(model, batch, weight: str = "token") -> dict:
    return model.generation_loss(batch, weight)


def warm_projection(task: Task, train_cfg: TrainConfig, stage: int, paths: TrainPaths, inputs: str) -> None:
    """Train the projection alone before the fusion trains: it learns to read what
    stage 1 taught the fusion before the fusion's own updates can wash that out."""
    warm_cfg = train_cfg.projection_warmup()
    if warm_cfg is None:
        return
    metrics = Path(paths.metrics)
    warm = Task(model=task.model, parameters=list(task.model.projection.parameters()),
                dataset=task.dataset, collate=task.collate, loss=task.loss,
                count_tokens=task.count_tokens)
    log.info("stage %d: the projection alone for %d steps at lr %g", stage, warm_cfg.steps, warm_cfg.lr)
    train(warm, warm_cfg, Path(paths.ckpt_dir) / "projection",
          metrics.with_name(f"{metrics.stem}_projection{metrics.suffix}"),
          desc=f"stage {stage} projection", inputs=inputs)


def held_out_probe(task: Task, held: list, train_cfg: TrainConfig,
                   ckpt_dir: str) -> Stage2Probe | None:
    """The per-kind check on held-out images (stage2_gate), if any are held out."""
    if not held:
        return None
    probe = at_most_per_kind(single_turns(held), PROBE_PER_KIND, first_question_kind)
    baselines = BlindBaselines.fit(task.dataset.records).accuracy(probe)
    collate = copy.copy(task.collate)
    collate.batch_ns = ()        # the check asks at the stage's own setting
    if not train_cfg.cache_views:
        collate = partial(records_to_samples, collate)
    return Stage2Probe(task.model, collate, probe, baselines, train_cfg.probe_every, ckpt_dir)


def records_to_samples(collate, records: list) -> dict:
    return collate([Sample(r.id, load_image(r.image), list(r.turns)) for r in records])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_flags(args)
    setting, paths, stage = flag_setting(args), flag_paths(args), args.stage
    cfg = parse_json_arg(args.cfg)
    stage_key = f"stage{stage}"
    section = config_section(TrainSection, cfg, "train")
    train_cfg = section.stage(stage_key, cfg.get("seed", 0))
    dataset = load_dataset(stage, paths, train_cfg)
    held = hold_out_images(dataset, train_cfg) if stage == 2 else []
    repeat_kinds(dataset, train_cfg)      # stage 1's config refuses kind_repeats
    if stage == 1 and isinstance(dataset, QuestionDataset) and section.stage2 is not None:
        leave_out_stage2_check(dataset, section.stage("stage2", cfg.get("seed", 0)))
    set_seed(train_cfg.seed)
    model = build_model(stage, cfg["model"], paths)
    task = make_task(stage, model, dataset, setting, train_cfg)
    log.info("stage %d: %d samples, n=%d m=%d question=%s, %.2fM trainable parameters",
             stage, len(dataset), setting.n, setting.m, setting.use_question,
             sum(p.numel() for p in task.parameters) / 1e6)
    inputs = inputs_digest([paths.init, paths.vision_init, paths.llm_init, paths.data])
    if stage > 1:
        warm_projection(task, train_cfg, stage, paths, inputs)
    probe = held_out_probe(task, held, train_cfg, paths.ckpt_dir)
    model, result = train(task, train_cfg, paths.ckpt_dir, paths.metrics,
                          desc=f"stage {stage}", on_step=probe, inputs=inputs)
    if result.is_main_process:
        model.save_pretrained(paths.out, trained_for=TrainedSetting.for_stage(stage, setting))
        if probe is not None:
            write_gate(Path(paths.out) / GATE_FILE, probe.gate())
        clear_checkpoints(paths.ckpt_dir)
        summary = Path(paths.summary) if paths.summary else summary_path_for(paths.metrics)
        write_summary(summary, f"train_{stage_key}", result, train_cfg, stage=stage,
                      n=setting.n, m=setting.m, use_question=setting.use_question,
                      samples_in_data=len(dataset), held_out_images=train_cfg.held_out if held else 0)
        log.info("stage %d loss %.4f -> %.4f in %.1f s (%.2f samples/s)", stage,
                 result.first_loss or float("nan"), result.final_loss or float("nan"),
                 result.wall_time_s, result.samples_per_s)
    return 0
