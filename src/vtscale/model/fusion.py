"""The fusion module's vocabulary and layout.

Vocabulary: the CLIP BPE tokenizer (shipped in the open_clip wheel) plus
``max_tokens - 1`` added query tokens. Layout of one sample's fusion input:
[all view tokens][Q1 text][n-1 queries][EOS] then [Qk text][m-1 queries][EOS] per
later question; the fused tokens are the outputs at the query and EOS positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from open_clip.tokenizer import SimpleTokenizer
from transformers import LlamaConfig, LlamaModel

from vtscale.model.config import ModelConfig

VIEW_SLOT = 0          # placeholder id at view positions; their embeddings are replaced
# View tokens leave the merger at unit scale per dimension (fresh LayerNorm + residual).
# transformers' default 0.02 would make question and query embeddings ~50x smaller, and
# the attention outputs over the views would wash them out of the residual stream.
TOKEN_EMBED_STD = 1.0


class FusionTokenizer:
    """CLIP BPE ids for text; query token k (0-based) is ``clip_vocab + k``."""

    def __init__(self, num_queries: int):
        self.bpe = SimpleTokenizer()
        self.clip_vocab = len(self.bpe.encoder)
        self.eos_id = self.bpe.eot_token_id
        self.sot_id = self.bpe.sot_token_id
        self.num_queries = num_queries

    @property
    def vocab_size(self) -> int:
        return self.clip_vocab + self.num_queries

    def encode(self, text: str) -> list[int]:
        return self.bpe.encode(text)

    def query_ids(self, count: int) -> list[int]:
        return list(range(self.clip_vocab, self.clip_vocab + count))

    def encode_answer(self, text: str, context: int, with_sot: bool = True) -> list[int]:
        """[SOT] text [EOT] for the CLIP text tower (without [SOT] if not ``with_sot``),
        truncated to ``context``."""
        start = [self.sot_id] if with_sot else []
        return start + self.encode(text)[: context - 1 - len(start)] + [self.eos_id]


def build_fusion(cfg: ModelConfig, vocab_size: int) -> LlamaModel:
    v = cfg.vision
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=v.width,
        intermediate_size=int(v.width * v.mlp_ratio),
        num_hidden_layers=cfg.fusion.layers,
        num_attention_heads=cfg.fusion_heads,
        num_key_value_heads=cfg.fusion_heads,
        max_position_embeddings=8192,
        pad_token_id=VIEW_SLOT,
        bos_token_id=None,
        eos_token_id=None,
        tie_word_embeddings=False,
        # transformers' 0.02 suits widths near 1024; at the demo's 128 it leaves attention
        # logits ~20x too small to rise above uniform within the demo's training steps.
        initializer_range=v.width ** -0.5,
    )
    fusion = LlamaModel(config)
    if not fusion.embed_tokens.weight.is_meta:
        nn.init.normal_(fusion.embed_tokens.weight, std=TOKEN_EMBED_STD)
    return fusion


def causal_mask_4d(length: int, device: torch.device | str) -> torch.Tensor:
    """Explicit [1, 1, L, L] causal mask (True = attend). transformers' own mask
    builder inspects tensor values, which meta tensors (FLOP counting) do not have."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()[None, None]


@dataclass
class FusionRow:
    """One sample's fusion input: ids (view slots hold VIEW_SLOT), which positions are
    view tokens, and the positions of the fused outputs per question group."""
    ids: list[int]
    is_view: list[bool]
    groups: list[list[int]]          # per question: positions of its queries + EOS
    question_spans: list[tuple[int, int]]


def fusion_row(tok: FusionTokenizer, num_view_tokens: int, questions: list[str],
               n: int, m: int, use_question: bool) -> FusionRow:
    ids = [VIEW_SLOT] * num_view_tokens
    is_view = [True] * num_view_tokens
    groups, spans = [], []
    for k, question in enumerate(questions):
        count = n if k == 0 else m
        text = tok.encode(question) if use_question else []
        spans.append((len(ids), len(ids) + len(text)))
        start = len(ids) + len(text)
        ids += text + tok.query_ids(count - 1) + [tok.eos_id]
        is_view += [False] * (len(text) + count)
        groups.append(list(range(start, start + count)))
    return FusionRow(ids, is_view, groups, spans)


def pad_rows(rows: list[FusionRow]) -> dict[str, torch.Tensor]:
    """Right-pad fusion rows (causal attention: real tokens never see the padding)."""
    length = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), length), VIEW_SLOT, dtype=torch.long)
    is_view = torch.zeros((len(rows), length), dtype=torch.bool)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row.ids)] = torch.tensor(row.ids)
        is_view[i, : len(row.ids)] = torch.tensor(row.is_view)
        mask[i, : len(row.ids)] = 1
    return {"fusion_ids": ids, "fusion_is_view": is_view, "fusion_mask": mask}
