"""The cost tables in markdown, with the notes the report shows: how our counts compare
with the paper's Table 7, why thop counts less than the analytic count, and why GPU
columns are missing where they are."""

from __future__ import annotations

import math

import pandas as pd

from vtscale.analysis.cost_gpu import SAMPLE_INTERVAL_S

# Table 7's prefill compute (T), counted with thop, whose unit is the multiply-add (MAC)
PAPER_PREFILL_T = {1: 2.380, 768: 4.151}

COUNTING_NOTE = (
    "thop hooks each leaf module whose exact type it knows and counts, per output element "
    "of an nn.Linear, in_features multiply-adds (convolutions alike; a plain nn.LayerNorm "
    "4 per element with its affine weights); it counts nothing for functional calls or "
    "types it does not know: the attention products QKᵀ and AV, the in- and out-projections "
    "of open_clip's nn.MultiheadAttention (run functionally), open_clip's LayerNorm subclass, "
    "RMSNorm, activations and rotary embeddings. The analytic count (FlopCounterMode) sees "
    "every matmul, convolution and attention product and no elementwise operation; its TMACs are "
    "its TFLOPs / 2.")


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def paper_section(paper: pd.DataFrame) -> list[str]:
    setup = ("ViT-L-14-336 HD-9 (1008×1008 image: 10 views × 145 tokens), 20-layer fusion Llama, "
             "Llama-2-7B; one prefill with the prompt, LM head on the last position only. "
             + prompt_note(paper))
    lines = ["## Paper configuration (counted on the meta device)", "", setup, "",
             "| n | m | TFLOPs | TMACs | thop TMACs | thop vision+fusion | thop LLM |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.n} | {r.m} | {r.tflops:.3f} | {r.tmacs:.3f} | {r.thop_tmacs:.3f} | "
              f"{r.thop_tmacs_vision_fusion:.3f} | {r.thop_tmacs_llm:.3f} |" for r in paper.itertuples()]
    return lines + ["", paper_comparison(paper), "", counting_note(paper)]


def prompt_note(paper: pd.DataFrame) -> str:
    """What the LLM reads besides the n fused tokens."""
    tokens = int(paper["llm_prompt_tokens"].iloc[0])
    return (f"The LLM reads the n fused tokens and {tokens} prompt tokens, in the paper profile's "
            "chat format (llama-2-vision: <s>, the system message, the prompt, [/INST]; the "
            "format's fixed pieces counted as the Llama-2 tokenizer counts them, the prompt "
            "estimated with the CLIP BPE, since no Llama-2 tokenizer loads offline).")


def paper_comparison(paper: pd.DataFrame) -> str:
    ours = paper.set_index("n")
    parts = [f"n={n}: thop {ours.loc[n, 'thop_tmacs']:.3f} TMACs (analytic {ours.loc[n, 'tmacs']:.3f}), "
             f"paper {reported:.3f}" for n, reported in PAPER_PREFILL_T.items() if n in ours.index]
    text = "Compared with the paper's Table 7: " + "; ".join(parts) + "."
    if {1, 768} <= set(ours.index):
        per_token = (ours.loc[768, "thop_tmacs"] - ours.loc[1, "thop_tmacs"]) / 767 * 1e3
        llm = (ours.loc[768, "thop_tmacs_llm"] - ours.loc[1, "thop_tmacs_llm"]) / 767 * 1e3
        paper_step = (PAPER_PREFILL_T[768] - PAPER_PREFILL_T[1]) / 767 * 1e3
        text += (f" Each extra vision token costs {per_token:.2f} G MACs by our thop count, "
                 f"{llm:.2f} G of them in the LLM's Linear layers (one more prompt token); the "
                 f"paper's step is {paper_step:.2f} G, so its thop profile cannot have seen every "
                 "LLM Linear layer at every prompt token. The code that called thop "
                 "(tensorfusionvlm/imgque_model_clock.py) is not in the authors' repository, so "
                 "which modules and inputs it profiled cannot be checked.")
    return text


def counting_note(paper: pd.DataFrame) -> str:
    share = paper["thop_tmacs"] / paper["tmacs"]
    return (f"Counting: thop finds {share.min():.0%}–{share.max():.0%} of the analytic MACs here. "
            + COUNTING_NOTE)


def measured_section(measured: pd.DataFrame, threads: int) -> list[str]:
    first = measured.iloc[0]
    setup = (f"Per n: {int(first.images)} images, {int(first.new_tokens)} new tokens per answer "
             "(paper: 500 MSCOCO test2017 images, 256 tokens). Prefill: prepared batch to first "
             "token; TTFT: image file to first token; decode: tokens after the first per second.")
    lines = [f"## Measured: the stage-2 model on {first.device} ({threads} CPU threads)", "", setup, "",
             "| n | m | TFLOPs | thop TMACs | prefill ms | TTFT ms | decode tokens/s | GPU util % | peak GiB | mean GiB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.n} | {r.m} | {r.tflops:.3g} | {r.thop_tmacs:.3g} | {r.prefill_ms:.1f} | "
              f"{r.ttft_ms:.1f} | {r.decode_tokens_per_s:.1f} | {_fmt(r.gpu_util_pct, '.0f')} | "
              f"{_fmt(r.peak_memory_gib, '.2f')} | {_fmt(r.mean_memory_gib, '.2f')} |"
              for r in measured.itertuples()]
    return lines + ["", gpu_note(measured)]


def gpu_note(measured: pd.DataFrame) -> str:
    device = str(measured["device"].iloc[0])
    if not device.startswith("cuda"):
        return (f"GPU columns (utilisation, peak and mean memory) were not measured: the model ran "
                f"on {device}, not CUDA; they are NaN in cost.csv.")
    if measured["gpu_util_pct"].isna().all():
        return ("GPU utilisation could not be read (NVML: install nvidia-ml-py); memory is "
                "what PyTorch's allocator held on the device.")
    return (f"GPU utilisation is NVML's, sampled every {SAMPLE_INTERVAL_S * 1e3:.0f} ms while "
            "answering; memory is what "
            "PyTorch's allocator held on the device (weights, activations, KV cache).")


def markdown_report(table: pd.DataFrame, threads: int) -> str:
    lines = ["# Inference cost per number of vision tokens", ""]
    paper = table[table["profile"] == "paper"]
    measured = table[table["profile"] == "measured"]
    if not paper.empty:
        lines += paper_section(paper) + [""]
    if not measured.empty:
        lines += measured_section(measured, threads)
    return "\n".join(lines) + "\n"
