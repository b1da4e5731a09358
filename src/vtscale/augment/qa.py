"""``vtscale augment-qa``: an instruct LLM turns detailed descriptions into yes/no and
4-option multiple-choice training conversations (paper Appendix B).

Output that is not in the exact format is dropped and counted by reason (qa_parse).
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections import Counter
from pathlib import Path

import torch
from tqdm import tqdm

from vtscale import prompts as surface
from vtscale.augment import prompts
from vtscale.augment.config import QAConfig, parse_cfg
from vtscale.augment.outputs import add_output_options, write_outputs
from vtscale.augment.qa_parse import DROP_REASONS, ChoiceItem, YesNoItem, parse_multiple_choice, parse_yes_no
from vtscale.data.descriptions import read_descriptions, with_text
from vtscale.model.causal_lm import load_causal_lm, pad_id

log = logging.getLogger(__name__)
TASKS = ("yes_no", "multiple_choice")
SKIP_REASONS = ("empty_description",)


def split_usable(records: list[dict], skipped: Counter) -> list[dict]:
    """Drop (and count) records whose description is empty."""
    usable, empty = with_text(records)
    skipped["empty_description"] += empty
    return usable


@torch.no_grad()
def generate(model, tokenizer, conversations: list[list[dict]], batch_size: int,
             max_new_tokens: int) -> list[str]:
    """Greedy completions of chat ``conversations``, batched with left padding."""
    texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
             for c in conversations]
    outputs: list[str] = []
    for start in tqdm(range(0, len(texts), batch_size), desc="generate QA", unit="batch"):
        batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                          padding_side="left", add_special_tokens=False)
        tokens = model.generate(**batch, do_sample=False, max_new_tokens=max_new_tokens,
                                pad_token_id=pad_id(tokenizer))
        new_tokens = tokens[:, batch["input_ids"].shape[1]:]
        outputs += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return outputs


def shuffle_options(item: ChoiceItem, rng: random.Random) -> ChoiceItem:
    """Re-letter the options in a random order: small generators put the answer under the
    letter of their worked example, and the letter must carry no signal in training data."""
    texts = list(item.options.values())
    order = rng.sample(range(len(texts)), len(texts))
    letters = list(item.options)
    options = {letter: texts[i] for letter, i in zip(letters, order)}
    answer = letters[order.index(letters.index(item.answer))]
    return ChoiceItem(item.question, options, answer)


def ask(item: YesNoItem | ChoiceItem, eval_prompt_forms: bool) -> str:
    """The human turn of ``item``: the evaluator's exact prompt form (the question plus
    VLMEvalKit's yes/no suffix or MCQ layout), or the question as generated, with the
    options one per line in the generator's "A) ..." form."""
    if isinstance(item, ChoiceItem):
        if eval_prompt_forms:
            return surface.multiple_choice(item.question, item.options)
        return "\n".join([item.question] + [f"{letter}) {text}" for letter, text in item.options.items()])
    return surface.yes_no(item.question) if eval_prompt_forms else item.question


def to_turns(items: list, eval_prompt_forms: bool = True) -> list[dict[str, str]]:
    turns = []
    for item in items:
        turns += [{"from": "human", "value": ask(item, eval_prompt_forms)},
                  {"from": "gpt", "value": item.answer}]
    return turns


def to_conversation(record: dict, items: list, eval_prompt_forms: bool = True) -> dict:
    turns = to_turns(items, eval_prompt_forms)
    turns[0]["value"] = "<image>\n" + turns[0]["value"]
    return {"id": f"{record['id']}_qa", "image": record["image"], "conversations": turns,
            "source": "qa"}


def run(cfg: QAConfig, records: list[dict], model, tokenizer, seed: int = 0) -> tuple[list[dict], dict]:
    skipped: Counter = Counter()
    usable = split_usable(records[:cfg.max_descriptions], skipped)
    conversations = [chat for r in usable for chat in prompts.qa_messages(cfg.prompt, r["description"])]
    completions = generate(model, tokenizer, conversations, cfg.batch_size, cfg.max_new_tokens)
    out, dropped = [], Counter()
    per_task = {task: Counter() for task in TASKS}
    for i, record in enumerate(usable):
        yes_no = parse_yes_no(completions[2 * i])
        choice = parse_multiple_choice(completions[2 * i + 1])
        for task, result in zip(TASKS, (yes_no, choice)):
            dropped += result.dropped
            per_task[task].update(generated=result.generated, kept=len(result.items))
        rng = random.Random(f"{seed}:{record['id']}")
        items = yes_no.items + [shuffle_options(item, rng) for item in choice.items]
        if items:
            out.append(to_conversation(record, items, cfg.eval_prompt_forms))
    stats = _stats(len(records[:cfg.max_descriptions]), skipped, dropped, per_task)
    return out, stats


def _stats(n_descriptions: int, skipped: Counter, dropped: Counter, per_task: dict) -> dict:
    generated = sum(t["generated"] for t in per_task.values())
    kept = sum(t["kept"] for t in per_task.values())
    return {
        "descriptions": n_descriptions,
        "skipped": {reason: skipped[reason] for reason in SKIP_REASONS},
        "generated": generated,
        "kept": kept,
        "dropped": {reason: dropped[reason] for reason in DROP_REASONS},
        "yield_percent": round(100.0 * kept / generated, 2) if generated else 0.0,
        "per_task": {task: {"generated": c["generated"], "kept": c["kept"]} for task, c in per_task.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale augment-qa", description=__doc__)
    parser.add_argument("--cfg", required=True, help="JSON with the augment section and seed")
    parser.add_argument("--descriptions", required=True, type=Path,
                        help="descriptions.json: the image descriptions to write QA from")
    parser.add_argument("--generator", required=True, help="model folder or hub id")
    add_output_options(parser)
    args = parser.parse_args(argv)

    cfg, seed = parse_cfg(args.cfg)
    records = read_descriptions(args.descriptions)
    model, tokenizer = load_causal_lm(args.generator, "augment.qa.generator")
    start = time.perf_counter()
    conversations, stats = run(cfg.qa, records, model, tokenizer, seed)
    write_outputs(args, conversations, stats, "descriptions", stats["descriptions"],
                  time.perf_counter() - start)
    log.info("QA: %d generated, %d kept (%.1f%%), dropped %s", stats["generated"], stats["kept"],
             stats["yield_percent"], stats["dropped"])
    return 0
