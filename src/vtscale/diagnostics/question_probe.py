"""``vtscale question-probe`` (diagnostic): how fast does a model learn to condition on
the question?

Fine-tunes a copy of a stage-1/2/3 model with stage 2's task in the shared training loop
(generation loss on the answer, LLM frozen; vision tower, merger, fusion and projection
trained; AdamW, cosine schedule, clipping at 1) on balanced yes/no questions about the
demo world's training scenes, and tracks how often the first answer token is right on
held-out (benchmark) scenes, against always giving the majority answer and against
answering from the question alone (each question's most frequent answer on the training
scenes): only accuracy above both uses the image. Three question families over the demo
world's vocabulary (src/vtscale/data/synth/vocab.py), each needing more of the question:

- ``fixed``: "Is there a <first colour> shape in the image?" -- one question, a fixed read-out;
- ``color``: "Is there a <colour> shape in the image?" -- the colour varies;
- ``color_kind``: "Is there a <colour> <kind> in the image?" -- POPE's conjunction.

With ``--no-question`` the fusion does not see the question (only the LLM does).
Writes ``--out`` (JSON ``{"task", "use_question", "n", "m", "steps", "batch_size", "lr",
"held_out", "majority", "question_only", "curve": [{"step", "loss", "accuracy"}]}``) and,
beside it, ``<out>.metrics.csv`` (the loop's per-step metrics); the model folder is left
untouched.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from vtscale import prompts
from vtscale.data import scenes
from vtscale.data.sample import Sample, Turn
from vtscale.data.synth.vocab import COLORS, KINDS, article
from vtscale.diagnostics.outputs import beside, write_result
from vtscale.errors import InputError
from vtscale.model.setting import Setting
from vtscale.train.config import LoopConfig, TrainConfig
from vtscale.train.loop import train
from vtscale.train.run import make_task

log = logging.getLogger(__name__)

TASKS = ("fixed", "color", "color_kind")
FIXED_COLOR = next(iter(COLORS))     # the fixed question asks about the vocabulary's first colour
PROBE_STAGE = 2                      # trains what stage 2 trains, on stage 2's loss


@dataclass
class ProbeConfig:
    task: str = "color"
    steps: int = 400
    batch_size: int = 16
    lr: float = 2e-4
    n: int = 16
    m: int = 4
    eval_every: int = 50
    held_out: int = 160
    seed: int = 0
    use_question: bool = True    # False: the fusion sees no question (as a without_question model trains)

    @property
    def setting(self) -> Setting:
        return Setting(self.n, self.m, self.use_question)


def _names(record: dict, task: str) -> set[str]:
    if task == "color":
        return {o["color"] for o in record["objects"]}
    return {f"{o['color']} {o['kind']}" for o in record["objects"]}


def _vocabulary(task: str) -> list[str]:
    if task == "color":
        return list(COLORS)
    return [f"{c} {k}" for k in KINDS for c in COLORS]


def make_question(record: dict, task: str, rng: random.Random) -> tuple[str, str]:
    """(question, "Yes"/"No") about a scenes.jsonl record. ``fixed`` always asks the same
    question; the others ask about a present or an absent name with equal odds."""
    if task == "fixed":
        answer = "Yes" if FIXED_COLOR in _names(record, "color") else "No"
        return f"Is there {article(FIXED_COLOR)} {FIXED_COLOR} shape in the image?", answer
    present = sorted(_names(record, task))
    absent = [name for name in _vocabulary(task) if name not in present]
    want_yes = rng.random() < 0.5 or not absent
    name = rng.choice(present if want_yes else absent)
    noun = f"{name} shape" if task == "color" else name
    return f"Is there {article(noun)} {noun} in the image?", "Yes" if want_yes else "No"


def question_only_accuracy(train: list[dict], held: list[tuple[str, str]], task: str,
                           seed: int, passes: int = 20) -> float:
    """Accuracy of answering each held-out question with its most frequent answer on the
    training scenes, image unseen: what a model that learns only the question gets."""
    rng, answers = random.Random(seed), defaultdict(Counter)
    for _ in range(passes):
        for record in train:
            question, answer = make_question(record, task, rng)
            answers[question][answer] += 1
    overall = sum(answers.values(), Counter()).most_common(1)[0][0]
    guess = {q: counts.most_common(1)[0][0] for q, counts in answers.items()}
    return sum(guess.get(q, overall) == a for q, a in held) / len(held)


def read_scenes(path: Path) -> tuple[list[dict], list[dict]]:
    """Training and held-out (benchmark) records of a scenes.jsonl."""
    records = scenes.read_scenes(path)
    train = [r for r in records if r["split"] == "train"]
    held = [r for r in records if r["split"] != "train"]
    if not train or not held:
        raise InputError(f"{path}: needs scenes with split 'train' and held-out scenes")
    return train, held


class SceneImages:
    """Decoded scene images, each read once."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    def __call__(self, record: dict) -> Image.Image:
        if record["image"] not in self.cache:
            path = self.root / record["image"]
            if not path.is_file():
                raise InputError(f"scene {record.get('id', record['image'])}: image file {path} not found")
            with Image.open(path) as image:
                self.cache[record["image"]] = image.convert("RGB")
        return self.cache[record["image"]]


def to_sample(record: dict, question: tuple[str, str], images: SceneImages) -> Sample:
    text, answer = question
    return Sample(record.get("id", record["image"]), images(record), [Turn(prompts.yes_no(text), answer)])


class ProbeQuestions(Dataset):
    """``size`` (training scene, question) samples drawn up front from the seed, so one
    epoch of the shared loop is the whole probe."""

    def __init__(self, train: list[dict], task: str, size: int, images: SceneImages, seed: int):
        rng = random.Random(seed)
        records = [rng.choice(train) for _ in range(size)]
        self.items = [(record, make_question(record, task, rng)) for record in records]
        self.images = images

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        record, question = self.items[index]
        return to_sample(record, question, self.images)


@torch.no_grad()
def first_token_accuracy(model, samples: list[Sample], setting: Setting, batch_size: int = 32) -> float:
    """Share of samples whose first answer token is the LLM's argmax (teacher forcing)."""
    was_training, correct = model.training, 0
    model.eval()
    for start in range(0, len(samples), batch_size):
        batch = model.batch_builder.generation(samples[start:start + batch_size], setting.n, setting.m,
                                               setting.use_question)
        logits, targets, keep = model.answer_logits(batch)
        # row-major order: each row's first labelled token follows the previous rows' tokens
        first = torch.cumsum(keep.sum(dim=1), 0) - keep.sum(dim=1)
        correct += (logits[first].argmax(-1) == targets[first]).sum().item()
    model.train(was_training)
    return correct / len(samples)


def probe_loop_config(cfg: ProbeConfig) -> LoopConfig:
    """One epoch of ``steps`` batches, no weight decay, a checkpoint only at the end."""
    return LoopConfig(steps=cfg.steps, lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed,
                      checkpoint_every=cfg.steps, weight_decay=0.0, max_grad_norm=1.0)


def run_probe(model, train_records: list[dict], held: list[dict], images: SceneImages,
              cfg: ProbeConfig, metrics_path: Path) -> dict:
    held_rng = random.Random(cfg.seed + 1)
    held_questions = [make_question(r, cfg.task, held_rng) for r in held[:cfg.held_out]]
    held_samples = [to_sample(r, q, images) for r, q in zip(held, held_questions)]
    majority = Counter(a for _, a in held_questions).most_common(1)[0][1] / len(held_questions)
    question_only = question_only_accuracy(train_records, held_questions, cfg.task, cfg.seed)

    def accuracy() -> float:
        return first_token_accuracy(model, held_samples, cfg.setting)

    curve = [{"step": 0, "loss": None, "accuracy": accuracy()}]

    def after_step(step: int, row: dict) -> None:
        if step % cfg.eval_every and step != cfg.steps:
            return
        curve.append({"step": step, "loss": row["loss"], "accuracy": accuracy()})
        log.info("probe %s step %d: loss %.4f, held-out accuracy %.3f (majority %.3f, "
                 "question alone %.3f)", cfg.task, step, row["loss"], curve[-1]["accuracy"],
                 majority, question_only)

    dataset = ProbeQuestions(train_records, cfg.task, cfg.steps * cfg.batch_size, images, cfg.seed)
    task = make_task(PROBE_STAGE, model, dataset, cfg.setting, TrainConfig(steps=cfg.steps))
    with tempfile.TemporaryDirectory(prefix="question_probe_ckpt_") as ckpt_dir:
        train(task, probe_loop_config(cfg), ckpt_dir, metrics_path, f"probe {cfg.task}", after_step)
    return {"task": cfg.task, "use_question": cfg.use_question, "n": cfg.n, "m": cfg.m,
            "steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr,
            "held_out": len(held_samples), "majority": majority, "question_only": question_only,
            "curve": curve}


INT_OPTIONS = {"steps": "training steps", "batch_size": "questions per step",
               "n": "fused tokens for the first question", "m": "fused tokens for later questions",
               "eval_every": "steps between held-out evaluations", "held_out": "held-out questions",
               "seed": "seed of the question draws and the training order"}


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, ProbeConfig]:
    parser = argparse.ArgumentParser(prog="vtscale question-probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a stage-1/2/3 model folder (read only)")
    parser.add_argument("--scenes", required=True, help="the demo world's scenes.jsonl")
    parser.add_argument("--image-root", required=True, help="folder the scenes' image paths are relative to")
    parser.add_argument("--out", required=True,
                        help="result JSON to write (the per-step metrics go beside it)")
    defaults = ProbeConfig()
    parser.add_argument("--task", choices=TASKS, default=defaults.task,
                        help="question family (see above)")
    for name, help_ in INT_OPTIONS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name),
                            help=f"{help_} (default {getattr(defaults, name)})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"learning rate (default {defaults.lr})")
    parser.add_argument("--no-question", dest="use_question", action="store_false",
                        help="leave the question out of the fusion input (the LLM still sees it)")
    args = parser.parse_args(argv)
    cfg = ProbeConfig(**{k: getattr(args, k) for k in ProbeConfig.__dataclass_fields__})
    return args, cfg


def main(argv: list[str] | None = None) -> int:
    from vtscale.model.vlm import VisionTokenModel
    args, cfg = parse_args(argv)
    out = Path(args.out)
    train_records, held = read_scenes(Path(args.scenes))
    model = VisionTokenModel.from_pretrained(args.model)
    result = run_probe(model, train_records, held, SceneImages(Path(args.image_root)), cfg,
                       beside(out, ".metrics.csv"))
    write_result(out, result)
    return 0
