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

import numpy as np
import torch
from tqdm import tqdm

from vtscale.data.dpo_pairs import DpoPair

log = logging.getLogger(__name__)


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
