"""Can the demo's LLM stand-in learn to read a scene given as one soft token per shape and
word (docs/experiments.md, 2026-12-07 midnight)? Each slot is the scaled sum of the LLM's own
embeddings of that item's phrase in the structured line ("a large red circle in the top
left"), put where the fused tokens go: a form a fusion module can produce, one token per
item, where the structured line needs ~8 tokens per item. The demo's bootstrap LM trains on
(slots, structured line or nothing, one question) samples with the loss on the answer;
then it is asked DemoCaption and the all-words question from slots of its scenes, scored
as experiments/lm_detail_probe.py scores the structured line. From the root of a finished
demo run:

    python experiments/slot_lm.py results/demo/models/bootstrap_lm OUT [STEPS] [items|cells]

cells: one slot per grid cell in reading order instead (its items, or "nothing" and its
place), the layout the ViT's merged cell tokens have.

OUT gets the trained LM (save_pretrained), metrics.csv and scores.json.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from vtscale import prompts
from vtscale.data.conversations import read_turns
from vtscale.data.scene_text import structured_scene, word_cell
from vtscale.data.scenes import iter_scenes
from vtscale.data.synth.config import GRID
from vtscale.data.synth.facts import ALL_WORDS_QUESTION
from vtscale.data.synth.vocab import region_phrase
from vtscale.model.causal_lm import pad_id
from vtscale.model.chat import template_row
from vtscale.train.config import LoopConfig
from vtscale.train.lm_gate import with_context
from vtscale.train.loop import Task, train

sys.path.insert(0, str(Path(__file__).parent))
from detail_scores import caption_item_scores  # noqa: E402
from lm_detail_probe import IMAGE_SIZE, all_words_read, benchmark_scenes  # noqa: E402

DATA = Path("data/demo")
HELD_OUT = 200


def slot_phrases(record: dict) -> list[str]:
    """The structured line's items, one per shape and word, in its order."""
    return structured_scene(record, IMAGE_SIZE)[len("Scene: "):-1].split("; ")


def cell_phrases(record: dict) -> list[str]:
    """One phrase per grid cell in reading order: its shapes' and words' items, or
    "nothing" and the cell's place; the slots vision tokens line up with."""
    items = {(r, c): [] for r in range(GRID) for c in range(GRID)}
    cells = [tuple(o["cell"]) for o in record["objects"]]
    cells += [word_cell(w["bbox"], IMAGE_SIZE) for w in record["words"]]
    for cell, phrase in zip(cells, slot_phrases(record)):
        items[cell].append(phrase)
    return [" and ".join(found) or f"nothing {region_phrase(cell)}" for cell, found in items.items()]


FORMS = {"items": slot_phrases, "cells": cell_phrases}


def phrase_ids(tokenizer, phrases: list[str]) -> list[list[int]]:
    return [tokenizer(" " + p, add_special_tokens=False)["input_ids"] for p in phrases]


def slot_embeddings(model, slots: list[list[int]]) -> torch.Tensor:
    """[slots, width]: each item's token embeddings summed, over sqrt(count) so that a
    slot has the scale of one embedding."""
    table = model.get_input_embeddings()
    return torch.stack([table(torch.tensor(ids)).sum(0) / math.sqrt(len(ids)) for ids in slots])


def slot_row(tokenizer, slots: list[list[int]] | None, context: str, question: str,
             answer: str | None) -> dict:
    """One sample: the slots where the fused tokens go (or the text ``context``)."""
    prompt = question if slots is not None else with_context(context, question)
    row = template_row(tokenizer, [prompt], None if answer is None else [answer],
                       [len(slots) if slots is not None else 0])
    return {"ids": row.ids, "labels": row.labels, "is_fused": row.is_fused, "slots": slots or []}


def embed_rows(model, rows: list[dict], pad: int, left: bool = False) -> dict[str, torch.Tensor]:
    width = max(len(r["ids"]) for r in rows)
    table = model.get_input_embeddings()
    embeds, labels, mask = [], [], []
    for r in rows:
        ids = torch.tensor(r["ids"])
        e = table(ids)
        if r["slots"]:
            fused = torch.tensor(r["is_fused"])
            e = e.masked_scatter(fused[:, None], slot_embeddings(model, r["slots"]))
        gap = width - len(ids)
        pad_e = table(torch.full((gap,), pad))
        e = torch.cat([pad_e, e] if left else [e, pad_e])
        lab = torch.tensor(r["labels"])
        lab = torch.cat([torch.full((gap,), -100), lab] if left else [lab, torch.full((gap,), -100)])
        m = torch.cat([torch.zeros(gap), torch.ones(len(ids))] if left else [torch.ones(len(ids)), torch.zeros(gap)])
        embeds.append(e), labels.append(lab), mask.append(m)
    return {"inputs_embeds": torch.stack(embeds), "labels": torch.stack(labels),
            "attention_mask": torch.stack(mask).long()}


class SlotLoss:
    def __init__(self, pad: int):
        self.pad = pad

    def __call__(self, model, rows: list[dict]) -> dict:
        batch = embed_rows(model, rows, self.pad)
        logits = model(inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"]).logits
        targets = batch["labels"][:, 1:]
        keep = targets != -100
        return {"loss": torch.nn.functional.cross_entropy(logits[:, :-1][keep].float(), targets[keep])}


def training_rows(tokenizer, steps: int, batch_size: int, phrases) -> list[dict]:
    records = {r["image"]: r for _, r in iter_scenes(DATA / "scenes.jsonl", boxes=True)}
    conversations = read_turns(DATA / "conversations.json")[:-HELD_OUT]
    rows = []
    for image, turns in conversations:
        record = records[image]
        slots = phrase_ids(tokenizer, phrases(record))
        line = structured_scene(record, IMAGE_SIZE)
        for turn in turns:
            rows.append(slot_row(tokenizer, slots, "", turn.question, turn.answer))
            rows.append(slot_row(tokenizer, None, random.choice([line, ""]), turn.question, turn.answer))
    random.Random(0).shuffle(rows)
    return rows[: steps * batch_size]


@torch.no_grad()
def generate(model, tokenizer, rows: list[dict], max_new_tokens: int) -> list[str]:
    batch = embed_rows(model, rows, pad_id(tokenizer), left=True)
    out = model.generate(inputs_embeds=batch["inputs_embeds"], attention_mask=batch["attention_mask"],
                         max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id(tokenizer))
    return [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]


def scores(model, tokenizer, phrases) -> dict:
    scenes = benchmark_scenes(50)
    slots = [phrase_ids(tokenizer, phrases(s)) for s, _ in scenes]
    captions = generate(model, tokenizer, [slot_row(tokenizer, s, "", prompts.CAPTION_PROMPT, None)
                                           for s in slots], 96)
    question = prompts.short_answer(ALL_WORDS_QUESTION)
    words = generate(model, tokenizer, [slot_row(tokenizer, s, "", question, None) for s in slots], 10)
    return {"caption": caption_item_scores([refs[0] for _, refs in scenes], captions),
            "all_words_exact": all_words_read([s for s, _ in scenes], words), "example": captions[0], "reference": scenes[0][1][0]}


def main(lm_dir: str, out: str, steps: int = 1500, form: str = "items") -> None:
    random.seed(0)
    phrases = FORMS[form]
    tokenizer = AutoTokenizer.from_pretrained(lm_dir)
    model = AutoModelForCausalLM.from_pretrained(lm_dir)
    before = scores(model.eval(), tokenizer, phrases)
    print("before:", json.dumps(before))
    cfg = LoopConfig(steps=steps, lr=1e-3, warmup=0.03, batch_size=32, checkpoint_every=500)
    task = Task(model=model.train(), parameters=list(model.parameters()),
                dataset=training_rows(tokenizer, steps, cfg.batch_size, phrases), collate=list,
                loss=SlotLoss(pad_id(tokenizer)), count_tokens=lambda rows: 0)
    model, _ = train(task, cfg, Path(out) / "ck", Path(out) / "metrics.csv", desc="slot LM")
    model.eval().save_pretrained(out)
    tokenizer.save_pretrained(out)
    result = {"steps": steps, "form": form, "before": before, "after": scores(model, tokenizer, phrases)}
    (Path(out) / "scores.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result["after"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]), *sys.argv[4:5])
