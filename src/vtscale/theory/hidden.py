"""DPO pairs -> final hidden states of the two branches that follow a shared prompt.

The prefix is the chat template of (system, question) with the generation prompt,
tokenized once per pair; branch A is the chosen answer, B the rejected one, both cut
to the same length L = min(len A, len B, max_tokens). Each branch set runs through the
LM in right-padded batches (causal attention: padding never affects earlier tokens).
The hidden states are the decoder's ``last_hidden_state``, i.e. after the final norm:
exactly what the LM head reads.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vtscale.errors import InputError
from vtscale.hub import require_model
from vtscale.io import read_jsonl

log = logging.getLogger(__name__)

PAIR_FIELDS = ("system", "question", "chosen", "rejected")


@dataclasses.dataclass
class DpoPair:
    system: str
    question: str
    chosen: str
    rejected: str


def load_pairs(source: str, max_pairs: int, seed: int) -> list[DpoPair]:
    """A jsonl file of DPO pairs, or a hub dataset id (paper: Intel/orca_dpo_pairs)."""
    path = Path(source)
    if path.suffix == ".jsonl" or path.exists():
        records = _read_pair_file(path)
        where = [f"{path}:{i}" for i in range(1, len(records) + 1)]
    else:
        records = _load_hub_dataset(source)
        where = [f"{source}[{i}]" for i in range(len(records))]
    pairs = [_to_pair(r, w) for r, w in zip(records, where)]
    if len(pairs) > max_pairs:
        chosen = sorted(random.Random(seed).sample(range(len(pairs)), max_pairs))
        pairs = [pairs[i] for i in chosen]
    return pairs


def _read_pair_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(f"{path}: DPO pairs file not found")
    try:
        return read_jsonl(path)
    except ValueError as err:
        raise InputError(str(err)) from None


def _load_hub_dataset(name: str) -> list[dict]:
    import datasets
    try:
        return list(datasets.load_dataset(name, split="train"))
    except Exception as err:   # offline, unknown id, ...: one line naming the source
        raise InputError(f"{name}: cannot load DPO dataset ({type(err).__name__}: {err})") from None


def _to_pair(record: object, where: str) -> DpoPair:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected an object with fields {', '.join(PAIR_FIELDS)}")
    for field in PAIR_FIELDS:
        value = record.get(field, "" if field == "system" else None)
        if not isinstance(value, str):
            raise InputError(f"{where}: field {field!r} missing or not a string")
    return DpoPair(**{f: record.get(f) or "" for f in PAIR_FIELDS})


def load_causal_lm(source: str):
    """A causal LM + tokenizer from a local folder, a hub id, or a ``.gguf`` file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(source)
    kwargs = {}
    if path.suffix == ".gguf":
        source, kwargs = str(path.parent), {"gguf_file": path.name}
    else:
        source = require_model(source, f"theory LLM {source}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
    except (OSError, ValueError) as err:
        raise InputError(f"--llm {source}: cannot load causal LM ({err})") from None
    if tokenizer.chat_template is None:
        raise InputError(f"--llm {source}: tokenizer has no chat template")
    return model.eval(), tokenizer


def prompt_ids(tokenizer, pair: DpoPair) -> list[int]:
    messages = [{"role": "user", "content": pair.question}]
    if pair.system:
        messages.insert(0, {"role": "system", "content": pair.system})
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@dataclasses.dataclass
class TokenizedPair:
    prefix: list[int]
    branch_a: list[int]
    branch_b: list[int]


def tokenize_pairs(tokenizer, pairs: list[DpoPair], max_tokens: int) -> list[TokenizedPair]:
    """Pairs whose shorter branch has no token are dropped (logged)."""
    out = []
    for pair in pairs:
        a = tokenizer(pair.chosen, add_special_tokens=False)["input_ids"]
        b = tokenizer(pair.rejected, add_special_tokens=False)["input_ids"]
        length = min(len(a), len(b), max_tokens)
        if length > 0:
            out.append(TokenizedPair(prompt_ids(tokenizer, pair), a[:length], b[:length]))
    if len(out) < len(pairs):
        log.warning("dropped %d pairs with an empty answer", len(pairs) - len(out))
    return out


@torch.no_grad()
def branch_hidden_states(model, pad_id: int, prefixes: list[list[int]], branches: list[list[int]],
                         batch_size: int, desc: str) -> list[np.ndarray]:
    """Final hidden states at each branch's own tokens, one (L, d) array per sequence."""
    decoder = model.get_decoder()
    order = sorted(range(len(branches)), key=lambda i: len(prefixes[i]) + len(branches[i]))
    out: list[np.ndarray | None] = [None] * len(branches)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        chunk = order[start:start + batch_size]          # similar lengths: little padding
        seqs = [prefixes[i] + branches[i] for i in chunk]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        for row, i in enumerate(chunk):
            offset = len(prefixes[i])
            out[i] = hidden[row, offset: offset + len(branches[i])].numpy()
    return out
