"""VisionTokenModel: CLIP views -> merged view tokens -> fusion Llama with learnable
queries -> n fused tokens -> projection -> frozen causal LM (DESIGN.md §2, §3)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from vtscale.data.sample import Sample
from vtscale.errors import InputError
from vtscale.hub import require_model
from vtscale.io import atomic_dir, read_json, write_json
from vtscale.model.chat import IGNORE, llm_row
from vtscale.model.config import ModelConfig, check_token_counts
from vtscale.model.fusion import FusionTokenizer, build_fusion, causal_mask_4d, fusion_row, pad_rows
from vtscale.model.hd_views import hd_views
from vtscale.model.losses import contrastive_objective
from vtscale.model.vision import (ViewMerger, build_clip, encode_text_eos, extend_text_context,
                                  open_clip_config, patch_tokens, views_to_pixels)

log = logging.getLogger(__name__)

CONFIG_FILE = "vtscale_model.json"
WEIGHTS_FILE = "model.safetensors"
LLM_DIR = "llm"
FORMAT_VERSION = 1
SHORT_ANSWER_TOKENS = 4     # a word, a number, Yes/No or an option letter, plus end of turn


class VisionTokenModel(nn.Module):
    def __init__(self, cfg: ModelConfig, clip_cfg: dict[str, Any], clip: nn.Module,
                 llm: nn.Module, llm_tokenizer: Any, llm_source: str):
        super().__init__()
        self.cfg = cfg
        self.clip_cfg = clip_cfg
        self.llm_source = llm_source
        width = cfg.vision.width
        embed_dim = clip_cfg["embed_dim"]
        self.clip = clip
        extend_text_context(self.clip, cfg.vision.text_context)
        self.merger = ViewMerger(width, cfg.vision.grid)
        self.fusion_tokenizer = FusionTokenizer(cfg.fusion.max_tokens - 1)
        self.fusion = build_fusion(cfg, self.fusion_tokenizer.vocab_size)
        if cfg.fusion.gradient_checkpointing:
            enable = getattr(self.fusion, "activation_checkpointing_enable", None) \
                or self.fusion.gradient_checkpointing_enable
            enable()
        self.projection = nn.Linear(width, llm.config.hidden_size, bias=False)
        match_embedding_scale(self.projection, llm.get_input_embeddings().weight)
        self.query_head = nn.Linear(width, embed_dim, bias=False)        # W_q (stage 1)
        self.answer_head = nn.Linear(embed_dim, embed_dim, bias=False)   # W_t (stage 1)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.llm = llm
        self.llm.requires_grad_(False)
        self.llm.eval()
        self.llm_tokenizer = llm_tokenizer

    # ---------------------------------------------------------------- building
    @classmethod
    def from_config(cls, cfg: ModelConfig, vision_init: str | None = None,
                    llm_init: str | None = None, load_weights: bool = True) -> "VisionTokenModel":
        """Backbones with weights (bootstrap folders in the demo, open_clip tag and hub
        LLM in the paper) or, with ``load_weights=False``, from configs only."""
        clip_cfg = open_clip_config(cfg.vision, vision_init, from_sizes=not load_weights)
        clip = build_clip(clip_cfg, cfg.vision, vision_init, load_weights)
        source = str(llm_init) if llm_init is not None else cfg.llm.source
        if load_weights:
            llm, tokenizer = load_llm(source)
        else:
            llm, tokenizer = llm_from_config(source, cfg)
        return cls(cfg, clip_cfg, clip, llm, tokenizer, source)

    @property
    def device(self) -> torch.device:
        return self.projection.weight.device

    def train(self, mode: bool = True) -> "VisionTokenModel":
        super().train(mode)
        self.llm.eval()      # the LLM is frozen: never in training mode
        return self

    def trainable_parameters(self, stage: int, train_vision: bool = True) -> list[nn.Parameter]:
        """Select what trains in ``stage`` and freeze the rest (sets requires_grad).

        Stage 1 (contrastive): the fresh parts (view merger, fusion, W_q, W_t, logit
        scale); the pretrained CLIP towers stay frozen because the answer embeddings
        are the fixed target space the fusion learns to reach, and a frozen image
        tower skips its backward pass. Stages 2 and 3: vision encoder (unless
        ``train_vision`` is False), merger, fusion and projection. The LLM never trains."""
        if stage == 1:
            modules = [self.merger, self.fusion, self.query_head, self.answer_head]
            extra = [self.logit_scale]
        elif stage in (2, 3):
            modules = [self.merger, self.fusion, self.projection]
            modules += [self.clip.visual] if train_vision else []
            extra = []
        else:
            raise ValueError(f"stage must be 1, 2 or 3, got {stage}")
        self.requires_grad_(False)
        for module in modules:
            module.requires_grad_(True)
        # ln_post and proj of the ViT are unused (fresh LayerNorm, patch tokens)
        self.clip.visual.ln_post.requires_grad_(False)
        if isinstance(self.clip.visual.proj, nn.Parameter):
            self.clip.visual.proj.requires_grad_(False)
        for param in extra:
            param.requires_grad_(True)
        return [p for p in self.parameters() if p.requires_grad]

    # ---------------------------------------------------------------- collation
    def _views(self, samples_images: list[Image.Image]) -> tuple[torch.Tensor, list[int]]:
        v = self.cfg.vision
        per_image = [hd_views(img, v.view_size, self.cfg.hd_views) for img in samples_images]
        pixels = views_to_pixels([view for views in per_image for view in views])
        return pixels, [len(views) * v.tokens_per_view for views in per_image]

    @torch.no_grad()
    def frozen_patch_tokens(self, images: list[Image.Image]) -> list[torch.Tensor]:
        """Each image's vision-tower patch tokens, [views, patches, width], without
        gradients: what a frozen tower gives every time (stage 1's cache)."""
        pixels, counts = self._views(images)
        tokens = patch_tokens(self.clip.visual, pixels.to(self.device, self.projection.weight.dtype))
        return list(tokens.split([count // self.cfg.vision.tokens_per_view for count in counts]))

    @torch.no_grad()
    def frozen_answer_embeddings(self, answers: list[str]) -> torch.Tensor:
        """[len(answers), embed_dim] CLIP text features at EOS, without gradients: what a
        frozen text tower gives every time (stage 1's answer cache)."""
        batch = self._answer_ids(answers)
        return encode_text_eos(self.clip, batch["answer_ids"].to(self.device), batch["answer_eos"].to(self.device))

    def _answer_ids(self, answers: list[str]) -> dict[str, torch.Tensor]:
        context = self.cfg.vision.text_context
        encoded = [self.fusion_tokenizer.encode_answer(a, context) for a in answers]
        ids = torch.zeros((len(encoded), max(map(len, encoded))), dtype=torch.long)
        for i, a in enumerate(encoded):
            ids[i, : len(a)] = torch.tensor(a)
        return {"answer_ids": ids, "answer_eos": torch.tensor([len(a) - 1 for a in encoded], dtype=torch.long)}

    def _fusion_batch(self, images: list[Image.Image], questions: list[list[str]],
                      n: int, m: int, use_question: bool) -> dict[str, torch.Tensor]:
        pixels, view_tokens = self._views(images)
        batch = self._fusion_rows(view_tokens, questions, n, m, use_question)
        batch["pixels"] = pixels
        return batch

    def _fusion_inputs(self, samples: list[Sample], questions: list[list[str]], n: int, m: int,
                       use_question: bool, patches: list[torch.Tensor] | None) -> dict[str, torch.Tensor]:
        """Fusion rows plus each sample's view pixels or, given ``patches`` (per sample,
        its views' patch tokens from a frozen vision tower), those instead."""
        if patches is None:
            return self._fusion_batch([s.image for s in samples], questions, n, m, use_question)
        per_view = self.cfg.vision.tokens_per_view
        batch = self._fusion_rows([p.shape[0] * per_view for p in patches], questions, n, m, use_question)
        batch["patches"] = torch.cat(patches)
        return batch

    def _fusion_rows(self, view_tokens: list[int], questions: list[list[str]],
                     n: int, m: int, use_question: bool) -> dict[str, torch.Tensor]:
        rows = [fusion_row(self.fusion_tokenizer, count, qs, n, m, use_question)
                for count, qs in zip(view_tokens, questions)]
        batch = pad_rows(rows)
        positions = [(i, p) for i, row in enumerate(rows) for group in row.groups for p in group]
        batch["fused_batch"] = torch.tensor([i for i, _ in positions], dtype=torch.long)
        batch["fused_pos"] = torch.tensor([p for _, p in positions], dtype=torch.long)
        return batch

    def collate_contrastive(self, samples: list[Sample], n: int | None = None,
                            patches: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Stage-1 batch: each sample's first question with ``n`` fused tokens (default
        the largest n, so every query embedding meets the identity loss) and its answer.
        ``patches``: per sample, its views' patch tokens from the frozen vision tower
        (``train.stage1_data.FrozenPatchCache``); the sample images are then not read."""
        n = self.cfg.fusion.max_tokens if n is None else n
        check_token_counts(n, n, self.cfg.fusion.max_tokens)
        _check_turns(samples)
        questions = [[s.turns[0].question] for s in samples]
        batch = self._fusion_inputs(samples, questions, n, n, True, patches)
        batch.update(self._answer_ids([s.turns[0].answer for s in samples]))
        return batch

    def collate_generation(self, samples: list[Sample], n: int, m: int, use_question: bool = True,
                           patches: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Stage-2/3 batch: multi-turn, n fused tokens before the first question and m
        before each later one; labels only on answers and their end-of-turn tokens.
        ``patches`` as in ``collate_contrastive``."""
        check_token_counts(n, m, self.cfg.fusion.max_tokens)
        _check_turns(samples)
        questions = [[t.question for t in s.turns] for s in samples]
        batch = self._fusion_inputs(samples, questions, n, m, use_question, patches)
        rows = [llm_row(self.llm_tokenizer, qs, [t.answer for t in s.turns],
                        [n] + [m] * (len(qs) - 1)) for s, qs in zip(samples, questions)]
        batch.update(self._pad_llm(rows, left=False))
        return batch

    def _pad_llm(self, rows, left: bool) -> dict[str, torch.Tensor]:
        length = max(len(r.ids) for r in rows)
        pad_id = self.llm_tokenizer.pad_token_id
        pad_id = self.llm_tokenizer.eos_token_id if pad_id is None else pad_id
        out = {"llm_ids": torch.full((len(rows), length), pad_id, dtype=torch.long),
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

    # ---------------------------------------------------------------- forward
    def view_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """[views, 3, H, W] -> [views, tokens_per_view, width]: all views at once."""
        return self.merger(patch_tokens(self.clip.visual, pixels))

    def fuse(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Fusion outputs at every fused position, in (sample, group, position) order."""
        dtype = self.projection.weight.dtype
        if "patches" in batch:      # cached outputs of a frozen vision tower
            views = self.merger(batch["patches"].to(self.device, dtype))
        else:
            views = self.view_tokens(batch["pixels"].to(self.device, dtype))
        ids = batch["fusion_ids"].to(self.device)
        is_view = batch["fusion_is_view"].to(self.device)
        embeds = self.fusion.embed_tokens(ids)
        embeds = embeds.masked_scatter(is_view.unsqueeze(-1), views.reshape(-1, views.shape[-1]).to(embeds.dtype))
        # Rows are right-padded and attention is causal, so no real token sees padding:
        # no padding mask needed (which also keeps the fusion runnable on meta tensors).
        mask = causal_mask_4d(embeds.shape[1], embeds.device) if embeds.is_meta else None
        hidden = self.fusion(inputs_embeds=embeds, attention_mask=mask, use_cache=False).last_hidden_state
        return hidden[batch["fused_batch"].to(self.device), batch["fused_pos"].to(self.device)]

    def llm_inputs(self, batch: dict[str, torch.Tensor],
                   fused: torch.Tensor | None = None) -> torch.Tensor:
        """LLM input embeddings with the projected fused tokens spliced into their slots;
        ``fused`` replaces the model's own projected tokens (diagnostics)."""
        if fused is None:
            fused = self.projection(self.fuse(batch))
        embeds = self.llm.get_input_embeddings()(batch["llm_ids"].to(self.device))
        slots = batch["llm_is_fused"].to(self.device).unsqueeze(-1)
        return embeds.masked_scatter(slots, fused.to(embeds.dtype))

    def answer_logits(self, batch: dict[str, torch.Tensor],
                      fused: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """LM logits and targets at the labelled (answer + EOS) tokens only, in row-major
        order, plus the [B, L-1] mask of those positions; the LM head runs on them alone,
        which keeps the vocab projection cheap. ``fused`` as in ``llm_inputs``."""
        embeds = self.llm_inputs(batch, fused)
        hidden = self.llm.get_decoder()(inputs_embeds=embeds, attention_mask=batch["llm_mask"].to(self.device),
                                        use_cache=False).last_hidden_state
        labels = batch["labels"].to(self.device)[:, 1:]
        keep = labels != IGNORE
        logits = self.llm.get_output_embeddings()(hidden[:, :-1][keep]).float()
        return logits, labels[keep], keep

    def generation_loss(self, batch: dict[str, torch.Tensor],
                        fused: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Next-token cross-entropy on the labelled (answer + EOS) tokens only."""
        logits, targets, keep = self.answer_logits(batch, fused)
        per_token = F.cross_entropy(logits, targets, reduction="none")
        short = answer_lengths(keep)[keep] <= SHORT_ANSWER_TOKENS
        # Logged apart (NaN when a batch has none): one-word answers are what the
        # benchmarks ask for, and long captions and documents dominate the mean.
        return {"loss": per_token.mean(), "loss_short": per_token[short].mean().detach(),
                "loss_long": per_token[~short].mean().detach()}

    def contrastive_loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        size = batch["fusion_ids"].shape[0]
        group = self.fuse(batch).view(size, -1, self.cfg.vision.width)
        z_q = F.normalize(self.query_head(group[:, -1]), dim=-1)
        if "answer_embeds" in batch:      # cached outputs of the frozen text tower
            answers = batch["answer_embeds"].to(self.device)
        else:
            answers = encode_text_eos(self.clip, batch["answer_ids"].to(self.device),
                                      batch["answer_eos"].to(self.device))
        z_a = F.normalize(self.answer_head(answers), dim=-1)
        h_hat = F.normalize(group[:, :-1], dim=-1)
        scale = self.logit_scale.exp().clamp(max=100.0)
        return contrastive_objective(z_q, z_a, scale, h_hat)

    # ---------------------------------------------------------------- inference
    @torch.inference_mode()
    def generate(self, images: list[Image.Image], questions: list[str], n: int, m: int,
                 use_question: bool = True, max_new_tokens: int = 32) -> list[str]:
        """Greedy single-turn answers, batched with left padding and a KV cache."""
        if len(images) != len(questions):
            raise InputError(f"generate: {len(images)} images but {len(questions)} questions")
        if not images:
            return []
        check_token_counts(n, m, self.cfg.fusion.max_tokens)
        batch = self._fusion_batch(images, [[q] for q in questions], n, m, use_question)
        rows = [llm_row(self.llm_tokenizer, [q], None, [n]) for q in questions]
        batch.update(self._pad_llm(rows, left=True))
        tok = self.llm_tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        out = self.llm.generate(inputs_embeds=self.llm_inputs(batch),
                                attention_mask=batch["llm_mask"].to(self.device),
                                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                pad_token_id=pad_id, eos_token_id=tok.eos_token_id)
        return [text.strip() for text in tok.batch_decode(out, skip_special_tokens=True)]

    # ---------------------------------------------------------------- saving
    def save_pretrained(self, path: str | Path) -> None:
        """Folder: config JSON, non-LLM weights, and the LLM itself when it came from a
        local folder (demo) or only its hub id (paper: no 13 GB copy per checkpoint)."""
        embed_llm = Path(self.llm_source).exists()
        with atomic_dir(path) as tmp:
            state = {k: v.detach().contiguous().clone().cpu()
                     for k, v in self.state_dict().items() if not k.startswith("llm.")}
            save_file(state, str(tmp / WEIGHTS_FILE))
            if embed_llm:
                self.llm.save_pretrained(tmp / LLM_DIR)
                self.llm_tokenizer.save_pretrained(tmp / LLM_DIR)
            write_json(tmp / CONFIG_FILE, {
                "format": FORMAT_VERSION, "model": self.cfg.to_dict(), "open_clip": self.clip_cfg,
                "llm": LLM_DIR if embed_llm else self.llm_source})

    @classmethod
    def from_pretrained(cls, path: str | Path) -> "VisionTokenModel":
        path = Path(path)
        meta_path = path / CONFIG_FILE
        if not meta_path.exists():
            raise InputError(f"{meta_path}: missing (not a VisionTokenModel folder)")
        meta = read_json(meta_path)
        cfg = ModelConfig.from_dict(meta["model"])
        clip = open_clip.model.CLIP(**meta["open_clip"])
        llm_dir = path / meta["llm"] if meta["llm"] == LLM_DIR else meta["llm"]
        llm, tokenizer = load_llm(str(llm_dir))
        model = cls(cfg, meta["open_clip"], clip, llm, tokenizer, str(llm_dir))
        missing, unexpected = model.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
        missing = [k for k in missing if not k.startswith("llm.")]
        if missing or unexpected:
            raise InputError(f"{path / WEIGHTS_FILE}: missing keys {missing[:3]}, unexpected {unexpected[:3]}")
        return model


def answer_lengths(labelled: torch.Tensor) -> torch.Tensor:
    """[B, L] bool (labelled positions) -> per position, the length of the labelled run
    it belongs to (one answer and its end-of-turn tokens); 0 where unlabelled."""
    flat = torch.cat([labelled, labelled.new_zeros(labelled.shape[0], 1)], dim=1).flatten()
    starts = flat & ~torch.cat([flat.new_zeros(1), flat[:-1]])
    run = torch.cumsum(starts.long(), 0) * flat
    sizes = torch.bincount(run)
    sizes[0] = 0
    return sizes[run].view(labelled.shape[0], -1)[:, :-1]


def match_embedding_scale(projection: nn.Linear, embeddings: torch.Tensor) -> None:
    """Start projected vision tokens at the scale of the LLM's own input embeddings.

    Fusion outputs leave a final RMSNorm (per-element RMS about 1), so weights with
    std = rms(E) / sqrt(in_features) give outputs with the RMS of the embeddings E.
    With the default init they enter the frozen LLM an order of magnitude too large
    and stage 2 spends its steps shrinking them instead of learning."""
    if embeddings.is_meta or projection.weight.is_meta:
        return
    with torch.no_grad():
        target = embeddings.float().pow(2).mean().sqrt().item()
        projection.weight.normal_(0.0, target / math.sqrt(projection.in_features))


def _check_turns(samples: list[Sample]) -> None:
    for sample in samples:
        if not sample.turns:
            raise InputError(f"sample {sample.id}: empty turns list (needs at least one question)")


def load_llm(source: str) -> tuple[nn.Module, Any]:
    source = require_model(source, "model.llm.source")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        llm = AutoModelForCausalLM.from_pretrained(source)
    except OSError as err:
        raise InputError(f"LLM {source}: cannot be loaded ({err})") from None
    if tokenizer.chat_template is None:
        raise InputError(f"LLM {source}: the tokenizer has no chat template")
    return llm, tokenizer


def llm_from_config(source: str, cfg: ModelConfig) -> tuple[nn.Module, Any]:
    """Weightless LLM: its own config when available offline, else a LlamaConfig with
    the configured sizes (Llama-2-7B by default); tokenizer only when available."""
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError):
        s = cfg.llm
        config = LlamaConfig(hidden_size=s.hidden_size, num_hidden_layers=s.layers,
                             num_attention_heads=s.heads, num_key_value_heads=s.heads,
                             intermediate_size=s.intermediate_size, vocab_size=s.vocab_size,
                             max_position_embeddings=4096)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError):
        tokenizer = None
    return AutoModelForCausalLM.from_config(config), tokenizer
