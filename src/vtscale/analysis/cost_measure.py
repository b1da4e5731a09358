"""Timing a trained model's answers, as the authors' inference_time_estimate.py does: a
seeded sample of images, one warm-up answer of one token, then per image a greedy answer
of a fixed number of new tokens to the cost prompt.

Per answer: TTFT (image file in, first token out: views, fusion, projection and the LLM
prefill), prefill (the prepared batch in, first token out) and decode tokens/s (tokens
after the first over the time after the first).
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import time
from pathlib import Path

import torch
from PIL import Image
from transformers import StoppingCriteria, StoppingCriteriaList

from vtscale.analysis.cost_count import generation_batch
from vtscale.errors import InputError

IMAGE_FOLDERS = ("images", "pages")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclasses.dataclass
class AnswerTiming:
    ttft_s: float
    prefill_s: float
    decode_tokens_per_s: float
    new_tokens: int


def pick_images(data_dir: str | Path, count: int, seed: int, folder: str | None = None) -> list[Path]:
    """``count`` pictures of ``data_dir/folder`` (default: its images/, else its pages/):
    sorted names shuffled with ``seed``, the first ``count`` kept (all when fewer)."""
    for name in [folder] if folder else IMAGE_FOLDERS:
        found = sorted(p for p in (Path(data_dir) / name).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if found:
            random.Random(seed).shuffle(found)
            return found[:count]
    where = folder or "images/ or pages/"
    raise InputError(f"{data_dir}: no {where} pictures (png, jpg) to time the model on")


class StepClock(StoppingCriteria):
    """Never stops generation; notes when each new token is ready."""

    def __init__(self, device: torch.device):
        self.device = device
        self.times: list[float] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        self.times.append(now(self.device))
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def now(device: torch.device) -> float:
    if device.type == "cuda":          # kernels run asynchronously: wait for them
        torch.cuda.synchronize(device)
    return time.perf_counter()


def greedy(model, batch: dict, new_tokens: int, clock: StepClock | None = None) -> torch.Tensor:
    """Exactly ``new_tokens`` greedy tokens (EOS held back until then)."""
    from vtscale.model.causal_lm import pad_id
    embeds = model.llm_inputs(batch)
    return model.llm.generate(inputs_embeds=embeds, attention_mask=batch["llm_mask"].to(embeds.device),
                              do_sample=False, num_beams=1, max_new_tokens=new_tokens,
                              min_new_tokens=new_tokens, pad_token_id=pad_id(model.llm_tokenizer),
                              stopping_criteria=StoppingCriteriaList([clock] if clock else []))


@torch.inference_mode()
def time_answer(model, path: Path, prompt: str, n: int, m: int, new_tokens: int) -> AnswerTiming:
    device = model.device
    start = now(device)
    batch = generation_batch(model, Image.open(path).convert("RGB"), prompt, n, m)
    ready = now(device)
    clock = StepClock(device)
    greedy(model, batch, new_tokens, clock)
    first, last = clock.times[0], clock.times[-1]
    after_first = len(clock.times) - 1
    rate = after_first / (last - first) if after_first and last > first else math.nan
    return AnswerTiming(first - start, first - ready, rate, len(clock.times))


@torch.inference_mode()
def warm_up(model, path: Path, prompt: str, n: int, m: int) -> None:
    greedy(model, generation_batch(model, Image.open(path).convert("RGB"), prompt, n, m), 1)


def time_images(model, paths: list[Path], prompt: str, n: int, m: int, new_tokens: int,
                repeats: int) -> dict[str, float]:
    """Per image the median of ``repeats`` answers, then the mean over images."""
    per_image = []
    for path in paths:
        runs = [time_answer(model, path, prompt, n, m, new_tokens) for _ in range(repeats)]
        per_image.append({field: statistics.median(getattr(r, field) for r in runs)
                          for field in ("ttft_s", "prefill_s", "decode_tokens_per_s")})
    mean = {field: statistics.fmean(row[field] for row in per_image) for field in per_image[0]}
    return {"ttft_ms": mean["ttft_s"] * 1e3, "prefill_ms": mean["prefill_s"] * 1e3,
            "decode_tokens_per_s": mean["decode_tokens_per_s"]}
