"""Model inputs as one dict of tensors: the fusion rows and the LLM rows of a batch.

Keys of a batch (each forward pass of ``VisionTokenModel`` reads the ones it needs):

- fusion input: ``fusion_ids``, ``fusion_is_view``, ``fusion_mask`` (right-padded rows,
  layout in ``model/fusion.py``), ``fused_batch`` and ``fused_pos`` (row and position of
  every fused output, in (sample, question, position) order), and either ``pixels``
  ([views, 3, H, W], every view of every image) or ``patches`` (cached patch tokens of a
  frozen vision tower);
- stage 1: ``answer_ids`` and ``answer_eos`` (one answer per question group, for the CLIP
  text tower) and ``group_sizes`` (fused outputs per question group);
- stages 2-3 and generation: ``llm_ids``, ``llm_is_fused``, ``llm_mask`` and ``labels``
  (chat-template rows with fused-token slots, ``model/chat.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from vtscale.data.sample import Sample
from vtscale.errors import InputError
from vtscale.model.causal_lm import pad_id
from vtscale.model.chat import IGNORE, LLMRow, llm_row
from vtscale.model.config import ModelConfig
from vtscale.model.fusion import FusionTokenizer, fusion_row, pad_rows
from vtscale.model.hd_views import hd_views
from vtscale.model.setting import Setting
from vtscale.model.vision import views_to_pixels

Batch = dict[str, torch.Tensor]
# A sample's image input: one image, or several (a multi-image benchmark row) in message order.
ImageInput = Image.Image | list[Image.Image]


@dataclass(frozen=True)
class ViewPixels:
    pixels: torch.Tensor        # [views of all images, 3, H, W]
    view_tokens: list[int]      # per image: how many view tokens its views give


def view_pixels(images: list[Image.Image], cfg: ModelConfig) -> ViewPixels:
    """Every image's HD views (global view first) as one pixel tensor."""
    v = cfg.vision
    per_image = [hd_views(image, v.view_size, cfg.hd_views, cfg.view_rule) for image in images]
    pixels = views_to_pixels([view for views in per_image for view in views])
    return ViewPixels(pixels, [len(views) * v.tokens_per_view for views in per_image])


def sample_view_pixels(samples: list[ImageInput], cfg: ModelConfig) -> ViewPixels:
    """As ``view_pixels``, per sample: a sample's images' views follow one another (each
    global view first), so its view tokens fill its fusion row in message order."""
    per_sample = [s if isinstance(s, list) else [s] for s in samples]
    views = view_pixels([image for images in per_sample for image in images], cfg)
    counts = iter(views.view_tokens)
    return ViewPixels(views.pixels, [sum(next(counts) for _ in images) for images in per_sample])


def fusion_rows(tokenizer: FusionTokenizer, view_tokens: list[int], questions: list[list[str]],
                n: int, m: int, use_question: bool) -> Batch:
    """Padded fusion rows plus where each fused output sits: per sample, its view slots,
    then per question its text (unless ``use_question`` is False), queries and EOS."""
    rows = [fusion_row(tokenizer, count, qs, n, m, use_question)
            for count, qs in zip(view_tokens, questions)]
    batch = pad_rows(rows)
    positions = [(i, p) for i, row in enumerate(rows) for group in row.groups for p in group]
    batch["fused_batch"] = torch.tensor([i for i, _ in positions], dtype=torch.long)
    batch["fused_pos"] = torch.tensor([p for _, p in positions], dtype=torch.long)
    return batch


def answer_ids(tokenizer: FusionTokenizer, answers: list[str], context: int,
               with_sot: bool = True) -> Batch:
    """Answers as CLIP text-tower ids (zero-padded) and the position of each one's EOS."""
    encoded = [tokenizer.encode_answer(a, context, with_sot) for a in answers]
    ids = torch.zeros((len(encoded), max(map(len, encoded))), dtype=torch.long)
    for i, a in enumerate(encoded):
        ids[i, : len(a)] = torch.tensor(a)
    return {"answer_ids": ids, "answer_eos": torch.tensor([len(a) - 1 for a in encoded], dtype=torch.long)}


def pad_llm_rows(rows: list[LLMRow], fill_id: int, left: bool) -> Batch:
    """LLM rows padded to one length with ``fill_id`` (masked out): on the left for
    generation (every prompt ends at the last column), on the right for training."""
    length = max(len(r.ids) for r in rows)
    out = {"llm_ids": torch.full((len(rows), length), fill_id, dtype=torch.long),
           "llm_is_fused": torch.zeros((len(rows), length), dtype=torch.bool),
           "llm_mask": torch.zeros((len(rows), length), dtype=torch.long),
           "labels": torch.full((len(rows), length), IGNORE, dtype=torch.long)}
    for i, row in enumerate(rows):
        span = slice(length - len(row.ids), length) if left else slice(0, len(row.ids))
        out["llm_ids"][i, span] = torch.tensor(row.ids)
        out["llm_is_fused"][i, span] = torch.tensor(row.is_fused)
        out["llm_mask"][i, span] = 1
        out["labels"][i, span] = torch.tensor(row.labels)
    return out


def splice_fused(token_embeds: torch.Tensor, batch: Batch, fused: torch.Tensor) -> torch.Tensor:
    """LLM input embeddings: ``token_embeds`` [B, L, d] of ``batch["llm_ids"]`` with the
    projected fused tokens [slots, d] written into the fused slots, in row-major order."""
    slots = batch["llm_is_fused"].to(token_embeds.device).unsqueeze(-1)
    return token_embeds.masked_scatter(slots, fused.to(token_embeds.dtype))


def check_turns(samples: list[Sample]) -> None:
    for sample in samples:
        if not sample.turns:
            raise InputError(f"sample {sample.id}: empty turns list (needs at least one question)")


@dataclass(frozen=True)
class BatchBuilder:
    """Builds the batches of one model from its config and tokenizers. ``llm_tokenizer``
    may be None (a weightless model without its tokenizer offline): then only the
    fusion side and stage-1 batches can be built."""
    cfg: ModelConfig
    fusion_tokenizer: FusionTokenizer
    llm_tokenizer: Any = None

    def fusion_inputs(self, images: list[ImageInput], questions: list[list[str]],
                      n: int, m: int, use_question: bool = True) -> Batch:
        """Fusion rows and the view pixels of ``images`` (per sample one image or several);
        ``questions[i]`` are sample i's."""
        views = sample_view_pixels(images, self.cfg)
        batch = fusion_rows(self.fusion_tokenizer, views.view_tokens, questions, n, m, use_question)
        batch["pixels"] = views.pixels
        return batch

    def fusion_inputs_on_patches(self, patches: list[torch.Tensor], questions: list[list[str]],
                                 n: int, m: int, use_question: bool = True) -> Batch:
        """As ``fusion_inputs``, on each image's cached patch tokens [views, patches, width]."""
        per_view = self.cfg.vision.tokens_per_view
        batch = fusion_rows(self.fusion_tokenizer, [p.shape[0] * per_view for p in patches],
                            questions, n, m, use_question)
        batch["patches"] = torch.cat(patches)
        return batch

    def answers(self, answers: list[str]) -> Batch:
        v = self.cfg.vision
        return answer_ids(self.fusion_tokenizer, answers, v.text_context, v.answer_sot)

    def contrastive(self, samples: list[Sample], n: int, m: int,
                    patches: list[torch.Tensor] | None = None) -> Batch:
        """Stage-1 batch: every question of every sample is one contrastive pair, its
        group of fused tokens (``n`` for a sample's first question, ``m`` for each later
        one) against its answer. ``group_sizes``: fused tokens per group, in order.
        ``patches``: per sample, its views' patch tokens from the frozen vision tower
        (``train.stage1_data.FrozenPatchCache``); the sample images are then not read."""
        Setting(n, m).check(self.cfg.fusion.max_tokens)
        check_turns(samples)
        questions = [[t.question for t in s.turns] for s in samples]
        batch = self._fusion_side(samples, questions, n, m, True, patches)
        batch.update(self.answers([t.answer for s in samples for t in s.turns]))
        sizes = [n if k == 0 else m for qs in questions for k in range(len(qs))]
        batch["group_sizes"] = torch.tensor(sizes, dtype=torch.long)
        return batch

    def generation(self, samples: list[Sample], n: int, m: int, use_question: bool = True,
                   patches: list[torch.Tensor] | None = None) -> Batch:
        """Stage-2/3 batch: multi-turn, n fused tokens before the first question and m
        before each later one; labels only on answers and their end-of-turn tokens.
        ``patches`` as in ``contrastive``."""
        Setting(n, m).check(self.cfg.fusion.max_tokens)
        check_turns(samples)
        questions = [[t.question for t in s.turns] for s in samples]
        batch = self._fusion_side(samples, questions, n, m, use_question, patches)
        rows = [self._llm_row(qs, [t.answer for t in s.turns], [n] + [m] * (len(qs) - 1))
                for s, qs in zip(samples, questions)]
        batch.update(pad_llm_rows(rows, pad_id(self.llm_tokenizer), left=False))
        return batch

    def generation_prompt(self, images: list[ImageInput], questions: list[str], n: int, m: int,
                          use_question: bool = True) -> Batch:
        """Single-turn prompts to answer, left-padded for batched greedy generation."""
        Setting(n, m).check(self.cfg.fusion.max_tokens)
        batch = self.fusion_inputs(images, [[q] for q in questions], n, m, use_question)
        rows = [self._llm_row([q], None, [n]) for q in questions]
        batch.update(pad_llm_rows(rows, pad_id(self.llm_tokenizer), left=True))
        return batch

    def _llm_row(self, questions: list[str], answers: list[str] | None, counts: list[int]) -> LLMRow:
        llm = self.cfg.llm
        return llm_row(self.llm_tokenizer, questions, answers, counts, llm.chat_format, llm.system_message)

    def _fusion_side(self, samples: list[Sample], questions: list[list[str]], n: int, m: int,
                     use_question: bool, patches: list[torch.Tensor] | None) -> Batch:
        if patches is None:
            return self.fusion_inputs([s.image for s in samples], questions, n, m, use_question)
        return self.fusion_inputs_on_patches(patches, questions, n, m, use_question)
