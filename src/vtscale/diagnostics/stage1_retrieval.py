"""``vtscale stage1-retrieval`` (diagnostic): what has stage 1 taught the fusion, per
question kind?

Stage 1 trains each question's fused EOS output (through W_q) to lie nearest its
answer's text embedding (through W_t). This asks the trained model the questions of the
images stage 2 holds out for its check (stage 1 leaves those out too, so they are new to
it), one question per sample at n fused tokens, and counts per question kind how often
the answer nearest the question's embedding, among every answer that kind has in those
questions, is the right one; beside it the kind's majority answer. A kind near its
majority was not learned in stage 1, so stage 2 has nothing to pass on for it.

Writes ``--out`` (JSON ``{"n", "images", "kinds": {kind: {"questions", "answers",
"accuracy", "majority"}}}``).
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter, defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

from vtscale.data.conversations import Record, read_records
from vtscale.data.question_kinds import question_kind
from vtscale.diagnostics.outputs import write_result
from vtscale.model.setting import Setting
from vtscale.model.vlm import VisionTokenModel
from vtscale.train.stage1_data import FrozenPatchCache, QuestionCollate
from vtscale.train.stage2_gate import split_by_image

log = logging.getLogger(__name__)

SKIPPED_KINDS = ("caption", "other")     # free text: no closed set of answers to rank


def held_out_questions(data: str, image_root: str, held_out: int, seed: int) -> list[tuple[Record, int]]:
    """(record, turn index) for every question of the images stage 2 holds out (every
    image of ``data`` when ``held_out`` is 0: a file of images stage 1 never saw)."""
    records = read_records(data, image_root)
    if held_out:
        _, records = split_by_image(records, held_out, seed)
    return [(r, k) for r in records for k in range(len(r.turns))]


@torch.no_grad()
def question_embeddings(model, collate, items: list[tuple[Record, int]], batch_size: int = 64) -> torch.Tensor:
    """[len(items), d] normalised W_q outputs at each question's EOS."""
    rows = []
    for start in range(0, len(items), batch_size):
        batch = collate(items[start:start + batch_size])
        fused = model.fuse(batch)
        eos = batch["group_sizes"].cumsum(0) - 1
        rows.append(F.normalize(model.query_head(fused[eos.to(fused.device)]), dim=-1))
    return torch.cat(rows)


@torch.no_grad()
def retrieval_by_kind(model, items: list[tuple[Record, int]], n: int) -> dict[str, dict]:
    collate = QuestionCollate(model, Setting(n, n), FrozenPatchCache(model))
    by_kind = defaultdict(list)
    for record, k in items:
        by_kind[question_kind(record.turns[k].question)].append((record, k))
    result = {}
    for kind in sorted(set(by_kind) - set(SKIPPED_KINDS)):
        kind_items = by_kind[kind]
        truth = [r.turns[k].answer for r, k in kind_items]
        answers = sorted(set(truth))
        z_a = F.normalize(model.answer_head(model.frozen_answer_embeddings(answers)), dim=-1)
        nearest = (question_embeddings(model, collate, kind_items) @ z_a.T).argmax(-1).tolist()
        hits = sum(answers[i] == t for i, t in zip(nearest, truth))
        result[kind] = {"questions": len(truth), "answers": len(answers),
                        "accuracy": hits / len(truth),
                        "majority": Counter(truth).most_common(1)[0][1] / len(truth)}
        log.info("%-12s %4d questions, %2d answers: nearest answer right %.3f (majority %.3f)",
                 kind, len(truth), len(answers), result[kind]["accuracy"], result[kind]["majority"])
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale stage1-retrieval", description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a stage-1 model folder (results/<profile>/models/stage1)")
    p.add_argument("--data", required=True, help="stage 1's training file (results/<profile>/data/train.json)")
    p.add_argument("--image-root", required=True, help="the folder its image paths are relative to")
    p.add_argument("--held-out", type=int, default=200, help="train.stage2.held_out of the run (0: every image of --data)")
    p.add_argument("--seed", type=int, default=0, help="the run's seed")
    p.add_argument("--n", type=int, default=None, help="fused tokens (default: the model's max_tokens)")
    p.add_argument("--out", required=True, help="JSON result file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = VisionTokenModel.from_pretrained(args.model).eval().requires_grad_(False)
    items = held_out_questions(args.data, args.image_root, args.held_out, args.seed)
    n = args.n or model.cfg.fusion.max_tokens
    kinds = retrieval_by_kind(model, items, n)
    write_result(Path(args.out), {"n": n, "images": args.held_out, "kinds": kinds})
    return 0
