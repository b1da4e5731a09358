"""Compute of one prefill (image and prompt in, first-token logits out), counted two ways.

* analytic: every matmul, convolution and attention product as torch's FlopCounterMode
  sees it, a multiply-add counted as 2 FLOPs;
* thop: the multiply-adds (MACs) of the model's modules as ``thop.profile`` counts them,
  the tool the paper's Table 7 was counted with. thop hooks each leaf module whose exact
  type it knows (nn.Linear: in_features MACs per output element; nn.Conv2d; nn.LayerNorm
  ...) and counts nothing else: functional calls (attention matmuls, the projections
  inside nn.MultiheadAttention), subclasses of known types, RMSNorm and activations.
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
from PIL import Image
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

LLAMA2_CHAT_WRAPPER_TOKENS = 8               # "<s>[INST] " + " [/INST]" in the Llama-2 tokenizer
THOP_BUFFERS = ("total_ops", "total_params")


@dataclasses.dataclass
class PrefillCount:
    vision_fusion: float     # CLIP views, merge conv, fusion Llama, projection
    llm: float               # LLM prompt pass + LM head at the last position

    @property
    def total(self) -> float:
        return self.vision_fusion + self.llm


def generation_batch(model, image: Image.Image, prompt: str, n: int, m: int) -> dict:
    """The single-turn batch ``VisionTokenModel.generate`` builds, without generating."""
    from vtscale.model.chat import LLMRow

    builder = model.batch_builder
    if builder.llm_tokenizer is not None:
        return builder.generation_prompt([image], [prompt], n, m)
    batch = builder.fusion_inputs([image], [[prompt]], n, m)
    # weightless paper LLM without its tokenizer offline: Llama-2 chat layout, prompt length
    # estimated with the CLIP BPE (plain English tokenizes to about the same count)
    row = LLMRow()
    text = len(builder.fusion_tokenizer.encode(prompt))
    row.add_ids([1] * (LLAMA2_CHAT_WRAPPER_TOKENS // 2), labelled=False)
    row.add_fused(n, 0)
    row.add_ids([1] * (text + LLAMA2_CHAT_WRAPPER_TOKENS // 2), labelled=False)
    batch.update({"llm_ids": torch.tensor([row.ids]),
                  "llm_is_fused": torch.tensor([row.is_fused]),
                  "llm_mask": torch.ones((1, len(row.ids)), dtype=torch.long)})
    return batch


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
