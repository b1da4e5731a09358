"""VisionTokenModel: CLIP views -> merged view tokens -> fusion Llama with learnable
queries -> n fused tokens -> projection -> frozen causal LM (docs/design.md §3)."""

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

from vtscale.config import config_section
from vtscale.errors import InputError
from vtscale.io import atomic_dir, write_json
from vtscale.model.batch import Batch, BatchBuilder, splice_fused, view_pixels
from vtscale.model.causal_lm import load_causal_lm, pad_id
from vtscale.model.config import ModelConfig
from vtscale.model.folder import (CONFIG_FILE, FORMAT_VERSION, LLM_DIR, RECORD_KEY, WEIGHTS_FILE,
                                  TrainedSetting, read_config)
from vtscale.model.fusion import FusionTokenizer, build_fusion, causal_mask_4d
from vtscale.model.losses import (Stage1Objective, batch_identity, contrastive_objective,
                                  generation_objective, labelled_logits, mask_outliers,
                                  question_identity)
from vtscale.model.vision import (ViewMerger, build_clip, encode_text_eos, extend_text_context,
                                  open_clip_config, patch_tokens)

log = logging.getLogger(__name__)


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
        extend_text_context(self.clip, cfg.vision.text_context, cfg.vision.text_context_init)
        self.merger = ViewMerger(width, cfg.vision.patches_per_side)
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

    def trainable_parameters(self, stage: int, train_vision: bool | None = None,
                             train_text: bool = False, answer_head: bool = True) -> list[nn.Parameter]:
        """Select what trains in ``stage`` and freeze the rest (sets requires_grad).

        Stage 1 (contrastive): the fresh parts (view merger, fusion, W_q, W_t unless
        ``answer_head`` is False, logit scale), plus the vision encoder when
        ``train_vision`` and the CLIP text tower (its extended positions included) when
        ``train_text`` (the paper's Appendix C trains both). Frozen towers (the
        default) keep the answer embeddings a fixed target space the fusion learns to
        reach and skip the towers' backward passes. Stages 2 and 3: vision encoder
        (unless ``train_vision`` is False), merger, fusion and projection. The LLM never
        trains."""
        if stage == 1:
            modules = [self.merger, self.fusion, self.query_head]
            modules += [self.answer_head] if answer_head else []
            modules += [self.clip.visual] if train_vision else []
            extra = [self.logit_scale] + (self.text_tower_parameters() if train_text else [])
        elif stage in (2, 3):
            modules = [self.merger, self.fusion, self.projection]
            modules += [self.clip.visual] if train_vision is not False else []
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

    def text_tower_parameters(self) -> list[nn.Parameter]:
        """The CLIP text tower: token and (extended) position embeddings, transformer,
        final LayerNorm and text projection; not CLIP's own logit scale or bias."""
        return [p for name, p in self.clip.named_parameters()
                if not name.startswith("visual.") and name not in ("logit_scale", "logit_bias")]

    # ---------------------------------------------------------------- batches
    @property
    def batch_builder(self) -> BatchBuilder:
        """Builds this model's batches (``model/batch.py``): ``.contrastive`` for stage 1,
        ``.generation`` for stages 2-3, ``.generation_prompt`` for answering."""
        return BatchBuilder(self.cfg, self.fusion_tokenizer, self.llm_tokenizer)

    @torch.no_grad()
    def frozen_patch_tokens(self, images: list[Image.Image]) -> list[torch.Tensor]:
        """Each image's vision-tower patch tokens, [views, patches, width], without
        gradients: what a frozen tower gives every time (stage 1's cache)."""
        views = view_pixels(images, self.cfg)
        tokens = patch_tokens(self.clip.visual, views.pixels.to(self.device, self.projection.weight.dtype))
        return list(tokens.split([count // self.cfg.vision.tokens_per_view for count in views.view_tokens]))

    @torch.no_grad()
    def frozen_answer_embeddings(self, answers: list[str]) -> torch.Tensor:
        """[len(answers), embed_dim] CLIP text features at EOS, without gradients: what a
        frozen text tower gives every time (stage 1's answer cache)."""
        batch = self.batch_builder.answers(answers)
        return encode_text_eos(self.clip, batch["answer_ids"].to(self.device), batch["answer_eos"].to(self.device))

    # ---------------------------------------------------------------- forward
    def view_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """[views, 3, H, W] -> [views, tokens_per_view, width]: all views at once."""
        return self.merger(patch_tokens(self.clip.visual, pixels))

    def fuse(self, batch: Batch) -> torch.Tensor:
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

    def token_embeddings(self, batch: Batch) -> torch.Tensor:
        """The LLM's own input embeddings of ``llm_ids`` (fused slots hold a placeholder)."""
        return self.llm.get_input_embeddings()(batch["llm_ids"].to(self.device))

    def llm_inputs(self, batch: Batch) -> torch.Tensor:
        """LLM input embeddings with the projected fused tokens spliced into their slots."""
        return splice_fused(self.token_embeddings(batch), batch, self.projection(self.fuse(batch)))

    def answer_logits(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """LM logits and targets at the labelled (answer + EOS) tokens, and their mask
        (``losses.labelled_logits``)."""
        return labelled_logits(self.llm, self.llm_inputs(batch), batch)

    def generation_loss(self, batch: Batch, weight: str = "token") -> dict[str, torch.Tensor]:
        """Next-token cross-entropy on the labelled (answer + EOS) tokens only, averaged
        over tokens or answers (``losses.generation_objective``)."""
        return generation_objective(*self.answer_logits(batch), weight=weight)

    def contrastive_loss(self, batch: Batch,
                         objective: Stage1Objective = Stage1Objective()) -> dict[str, torch.Tensor]:
        """Stage 1: each question group's EOS output (through W_q) against its answer's
        text-tower embedding, every group of the batch in one contrastive matrix, plus
        the identity term on the fused outputs (``objective`` says which form)."""
        fused = self.fuse(batch)
        sizes = batch["group_sizes"].tolist()
        eos = torch.tensor(sizes).cumsum(0) - 1
        z_q = F.normalize(self.query_head(fused[eos.to(self.device)]), dim=-1)
        answers = self.answer_features(batch)
        if objective.answer_mask_sigma is not None:
            answers = mask_outliers(answers, objective.answer_mask_sigma)
        if objective.answer_head:
            answers = self.answer_head(answers)
        z_a = F.normalize(answers, dim=-1)
        h_hat = F.normalize(fused, dim=-1)
        if objective.identity == "batch":
            identity = batch_identity(h_hat)
        else:
            identity = question_identity(h_hat, sizes)
        scale = self.logit_scale.exp().clamp(max=100.0)
        return contrastive_objective(z_q, z_a, scale, identity)

    def answer_features(self, batch: Batch) -> torch.Tensor:
        """[groups, embed_dim] CLIP text-tower features at each answer's EOS (cached ones
        of a frozen tower when the batch carries them)."""
        if "answer_embeds" in batch:
            return batch["answer_embeds"].to(self.device)
        return encode_text_eos(self.clip, batch["answer_ids"].to(self.device),
                               batch["answer_eos"].to(self.device))

    # ---------------------------------------------------------------- inference
    @torch.inference_mode()
    def generate(self, images: list[Image.Image], questions: list[str], n: int, m: int,
                 use_question: bool = True, max_new_tokens: int = 32) -> list[str]:
        """Greedy single-turn answers, batched with left padding and a KV cache."""
        if len(images) != len(questions):
            raise InputError(f"generate: {len(images)} images but {len(questions)} questions")
        if not images:
            return []
        batch = self.batch_builder.generation_prompt(images, questions, n, m, use_question)
        tok = self.llm_tokenizer
        out = self.llm.generate(inputs_embeds=self.llm_inputs(batch),
                                attention_mask=batch["llm_mask"].to(self.device),
                                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                pad_token_id=pad_id(tok), eos_token_id=tok.eos_token_id)
        return [text.strip() for text in tok.batch_decode(out, skip_special_tokens=True)]

    # ---------------------------------------------------------------- saving
    def save_pretrained(self, path: str | Path, trained_for: TrainedSetting | None = None) -> None:
        """Folder: config JSON, non-LLM weights, and the LLM itself when it came from a
        local folder (demo) or only its hub id (paper: no 13 GB copy per checkpoint).
        ``trained_for``: the setting it was trained for, recorded in the config JSON
        (``model/folder.py``); ``vtscale eval`` checks it."""
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
                "llm": LLM_DIR if embed_llm else self.llm_source,
                RECORD_KEY: trained_for.to_dict() if trained_for else None})

    @classmethod
    def from_pretrained(cls, path: str | Path) -> "VisionTokenModel":
        path = Path(path)
        meta = read_config(path)
        cfg = config_section(ModelConfig, meta, "model")
        clip = open_clip.model.CLIP(**meta["open_clip"])
        llm_dir = path / meta["llm"] if meta["llm"] == LLM_DIR else meta["llm"]
        llm, tokenizer = load_llm(str(llm_dir))
        model = cls(cfg, meta["open_clip"], clip, llm, tokenizer, str(llm_dir))
        missing, unexpected = model.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
        missing = [k for k in missing if not k.startswith("llm.")]
        if missing or unexpected:
            raise InputError(f"{path / WEIGHTS_FILE}: missing keys {missing[:3]}, unexpected {unexpected[:3]}")
        return model


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


def load_llm(source: str) -> tuple[nn.Module, Any]:
    return load_causal_lm(source, "model.llm.source")


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
