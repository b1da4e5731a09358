"""``vtscale question-probe``: how fast does a model learn to condition on the question?

Fine-tunes a copy of a stage-1/2 model the way stage 2 trains (generation loss on the
answer, LLM frozen; vision tower, merger, fusion and projection trained) on balanced
yes/no questions about the demo world's training scenes, and tracks how often the first
answer token is right on held-out (benchmark) scenes, against always giving the
majority answer and against answering from the question alone (each question's most
frequent answer on the training scenes): only accuracy above both uses the image.
Three question families, each needing more of the question:

- ``fixed``: "Is there a red shape in the image?" -- one question, a fixed read-out;
- ``color``: "Is there a <colour> shape in the image?" -- the colour varies;
- ``color_kind``: "Is there a <colour> <kind> in the image?" -- POPE's conjunction.

With ``--no-question`` the fusion does not see the question (only the LLM does).
Writes JSON ``{"task", "use_question", "n", "m", "steps", "batch_size", "lr", "held_out",
"majority", "question_only", "curve": [{"step", "loss", "accuracy"}]}``; the model folder
is left untouched.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from vtscale import prompts
from vtscale.data.sample import Sample, Turn
from vtscale.data.synth.vocab import COLORS, KINDS, article
from vtscale.errors import InputError
from vtscale.io import read_jsonl, write_json

log = logging.getLogger(__name__)

TASKS = ("fixed", "color", "color_kind")
FIXED_COLOR = "red"


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
    use_question: bool = True    # False: the fusion sees no question (the "no question" variant)


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
    try:
        records = read_jsonl(path)
    except (OSError, ValueError) as err:
        raise InputError(str(err)) from None
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict) or not isinstance(record.get("objects"), list) \
                or "image" not in record or "split" not in record:
            raise InputError(f"{path}: record {number}: needs 'image', 'split' and an 'objects' list")
        if any(not isinstance(o, dict) or not {"color", "kind"} <= o.keys() for o in record["objects"]):
            raise InputError(f"{path}: record {number}: every object needs 'color' and 'kind'")
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


@torch.no_grad()
def first_token_accuracy(model, samples: list[Sample], n: int, m: int, use_question: bool = True,
                         batch_size: int = 32) -> float:
    """Share of samples whose first answer token is the LLM's argmax (teacher forcing)."""
    was_training, correct = model.training, 0
    model.eval()
    for start in range(0, len(samples), batch_size):
        batch = model.collate_generation(samples[start:start + batch_size], n, m, use_question)
        logits, targets, keep = model.answer_logits(batch)
        # row-major order: each row's first labelled token follows the previous rows' tokens
        first = torch.cumsum(keep.sum(dim=1), 0) - keep.sum(dim=1)
        correct += (logits[first].argmax(-1) == targets[first]).sum().item()
    model.train(was_training)
    return correct / len(samples)


def train_step(model, samples: list[Sample], cfg: ProbeConfig, params, optimizer) -> float:
    batch = model.collate_generation(samples, cfg.n, cfg.m, cfg.use_question)
    loss = model.generation_loss(batch)["loss"]
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    return loss.item()


def run_probe(model, train: list[dict], held: list[dict], images: SceneImages, cfg: ProbeConfig) -> dict:
    rng, held_rng = random.Random(cfg.seed), random.Random(cfg.seed + 1)
    held_questions = [make_question(r, cfg.task, held_rng) for r in held[:cfg.held_out]]
    held_samples = [to_sample(r, q, images) for r, q in zip(held, held_questions)]
    majority = Counter(a for _, a in held_questions).most_common(1)[0][1] / len(held_questions)
    question_only = question_only_accuracy(train, held_questions, cfg.task, cfg.seed)

    def accuracy() -> float:
        return first_token_accuracy(model, held_samples, cfg.n, cfg.m, cfg.use_question)

    params = model.trainable_parameters(2)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    curve = [{"step": 0, "loss": None, "accuracy": accuracy()}]
    model.train()
    for step in tqdm(range(1, cfg.steps + 1), desc=f"probe {cfg.task}"):
        records = rng.sample(train, min(cfg.batch_size, len(train)))
        samples = [to_sample(r, make_question(r, cfg.task, rng), images) for r in records]
        loss = train_step(model, samples, cfg, params, optimizer)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            curve.append({"step": step, "loss": loss, "accuracy": accuracy()})
            log.info("probe %s step %d: loss %.4f, held-out accuracy %.3f (majority %.3f, "
                     "question alone %.3f)", cfg.task, step, loss, curve[-1]["accuracy"], majority,
                     question_only)
    return {"task": cfg.task, "use_question": cfg.use_question, "n": cfg.n, "m": cfg.m,
            "steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr,
            "held_out": len(held_samples), "majority": majority, "question_only": question_only,
            "curve": curve}


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, ProbeConfig]:
    parser = argparse.ArgumentParser(prog="vtscale question-probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a stage-1/2/3 model folder (read only)")
    parser.add_argument("--scenes", required=True, help="the demo world's scenes.jsonl")
    parser.add_argument("--image-root", required=True, help="folder the scenes' image paths are relative to")
    parser.add_argument("--out", required=True, help="JSON to write")
    defaults = ProbeConfig()
    parser.add_argument("--task", choices=TASKS, default=defaults.task)
    for name in ("steps", "batch_size", "n", "m", "eval_every", "held_out", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--no-question", dest="use_question", action="store_false",
                        help="leave the question out of the fusion input (the LLM still sees it)")
    args = parser.parse_args(argv)
    cfg = ProbeConfig(**{k: getattr(args, k) for k in ProbeConfig.__dataclass_fields__})
    return args, cfg


def main(argv: list[str] | None = None) -> int:
    from vtscale.model.vlm import VisionTokenModel
    args, cfg = parse_args(argv)
    torch.manual_seed(cfg.seed)
    train, held = read_scenes(Path(args.scenes))
    model = VisionTokenModel.from_pretrained(args.model)
    result = run_probe(model, train, held, SceneImages(Path(args.image_root)), cfg)
    write_json(args.out, result)
    return 0
