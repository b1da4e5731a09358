"""Can the demo's LLM stand-in write the multi-cell answers from the scene's structured
line in its context (docs/experiments.md, 2026-12-07 late night)? From the root of a
finished demo run:

    python experiments/lm_detail_probe.py results/demo/models/bootstrap_lm [N]

On the first N DemoCaption scenes (never trained on), greedy answers to the caption prompt
and to "What words are written in the image?", with the structured line where the fused
tokens go; scored as experiments/detail_scores.py scores the VLM's answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from vtscale import prompts
from vtscale.data.scene_text import structured_scene, word_cell
from vtscale.data.synth.facts import ALL_WORDS_QUESTION
from vtscale.model.causal_lm import pad_id
from vtscale.model.chat import template_row
from vtscale.train.lm_gate import left_padded, with_context

sys.path.insert(0, str(Path(__file__).parent))
from detail_scores import caption_item_scores, mean  # noqa: E402

DATA = Path("data/demo")
IMAGE_SIZE = 224


def benchmark_scenes(count: int) -> list[tuple[dict, list[str]]]:
    """(scene record, caption references) of the first ``count`` DemoCaption rows."""
    by_image = {}
    for line in (DATA / "scenes.jsonl").read_text().splitlines():
        record = json.loads(line)
        digest = hashlib.sha256((DATA / record["image"]).read_bytes()).hexdigest()
        by_image[digest] = record
    rows = pd.read_csv(DATA / "benchmarks/DemoCaption.tsv", sep="\t").head(count)
    return [(by_image[hashlib.sha256(base64.b64decode(r.image)).hexdigest()], json.loads(r.answer))
            for r in rows.itertuples()]


def all_words_read(scenes: list[dict], said: list[str]) -> float:
    """Share of scenes whose every word, in reading order, is what was said."""
    return mean([answer.lower() == " ".join(w["text"] for w in sorted(
                     scene["words"], key=lambda w: word_cell(w["bbox"], IMAGE_SIZE)))
                 for scene, answer in zip(scenes, said)])


@torch.no_grad()
def answers(model, tokenizer, prompts_: list[str], max_new_tokens: int) -> list[str]:
    rows = [template_row(tokenizer, [p], None, [0]).ids for p in prompts_]
    ids, mask = left_padded(rows, pad_id(tokenizer))
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                         do_sample=False, pad_token_id=pad_id(tokenizer))
    return [t.strip() for t in tokenizer.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)]


def main(lm_dir: str, count: int = 50) -> None:
    tokenizer = AutoTokenizer.from_pretrained(lm_dir)
    model = AutoModelForCausalLM.from_pretrained(lm_dir).eval()
    scenes = benchmark_scenes(count)
    contexts = [structured_scene(s, IMAGE_SIZE) for s, _ in scenes]
    captions = answers(model, tokenizer, [with_context(c, prompts.CAPTION_PROMPT) for c in contexts], 96)
    question = prompts.short_answer(ALL_WORDS_QUESTION)
    words = answers(model, tokenizer, [with_context(c, question) for c in contexts], 10)
    items = caption_item_scores([refs[0] for _, refs in scenes], captions)
    print(json.dumps({"caption_precision": items["precision"], "caption_recall": items["recall"],
                      "all_words_exact": all_words_read([s for s, _ in scenes], words), "example": captions[0], "reference": scenes[0][1][0]}))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
