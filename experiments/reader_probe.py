"""Can the frozen LLM learn to read the scene's cell tokens at all? Stage 2 with the fusion
taken out: the merged view tokens (one per grid cell, plus the newline) go through the
projection straight into the LLM's context, as LLaVA's projector feeds its LLM, and the
merger and projection train on a training file; then DemoCaption and DemoOCRVQA are asked
and scored as experiments/detail_scores.py does (docs/experiments.md, 2026-12-07 midnight).
From the root of a finished demo run:

    python experiments/reader_probe.py results/demo/models/stage1 /tmp/focus/train.json OUT [STEPS] [--train-llm] [--no-newline]

--train-llm trains the LLM too (is what the cells hold enough to write the answers?);
--no-newline leaves the view's newline token out (one token per grid cell). OUT gets stage2.csv, the checkpoints and scores.json.
"""

from __future__ import annotations

import json
import sys
import types
from functools import partial
from pathlib import Path

import torch

from vtscale.eval.benchmark import decode_image
from vtscale.eval.prompts import build_prompt
from vtscale.eval.tsv import read_benchmark
from vtscale.model.setting import Setting
from vtscale.model.vlm import VisionTokenModel
from vtscale.train.config import TrainConfig
from vtscale.train.loop import Task, train
from vtscale.train.run import TrainPaths, count_vlm_tokens, generation, load_dataset
from vtscale.train.stage1_data import CachedConversationCollate, FrozenPatchCache

sys.path.insert(0, str(Path(__file__).parent))
from detail_scores import caption_item_scores, reading_scores  # noqa: E402

BENCHMARKS = Path("data/demo/benchmarks")


def cell_tokens(self, batch, keep: int) -> torch.Tensor:
    """The first ``keep`` merged view tokens themselves in the fused slots (n = keep)."""
    if "patches" in batch:
        views = self.merger(batch["patches"].to(self.device, self.projection.weight.dtype))
    else:
        views = self.view_tokens(batch["pixels"].to(self.device, self.projection.weight.dtype))
    return views[:, :keep].reshape(-1, views.shape[-1])


def ask(model, name: str, type_: str, n: int, max_new_tokens: int) -> tuple[list[str], list[str]]:
    """The benchmark's first references (or answers) and the model's answers to its prompts."""
    rows = read_benchmark(BENCHMARKS / f"{name}.tsv", name, type_).rows
    answers = []
    with torch.no_grad():
        for start in range(0, len(rows), 32):
            chunk = rows[start:start + 32]
            answers += model.generate([decode_image(r.image_b64) for r in chunk],
                                      [build_prompt(r, type_) for r in chunk], n, n,
                                      max_new_tokens=max_new_tokens)
    return [r.answers[0] for r in rows], answers


def scores(model, n: int) -> dict:
    references, captions = ask(model, "DemoCaption", "caption", n, 96)
    caption = caption_item_scores(references, captions)
    truth, words = ask(model, "DemoOCRVQA", "ocrvqa", n, 16)
    return {"caption": caption, "examples": captions[:3], **reading_scores(truth, words)}


def main(stage1: str, data: str, out: str, steps: int = 600, train_llm: bool = False,
         newline: bool = True) -> None:
    model = VisionTokenModel.from_pretrained(stage1)
    n = model.cfg.vision.tokens_per_view - (not newline)
    model.fuse = types.MethodType(partial(cell_tokens, keep=n), model)
    cfg = TrainConfig(steps=steps, lr=3e-3, warmup=0.03, batch_size=32, cache_views=True,
                      samples="question", loss_weight="answer", checkpoint_every=100)
    dataset = load_dataset(2, TrainPaths(data=data, image_root="data/demo", out=out, ckpt_dir=out, metrics=out), cfg)
    parameters = [*model.projection.parameters(), *model.merger.parameters(),
                  *(model.llm.parameters() if train_llm else ())]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in parameters:
        p.requires_grad_(True)
    collate = CachedConversationCollate(model, Setting(n, n), FrozenPatchCache(model), ())
    task = Task(model=model, parameters=parameters, dataset=dataset, collate=collate,
                loss=generation, count_tokens=count_vlm_tokens)
    model, _ = train(task, cfg, Path(out) / "ck", Path(out) / "stage2.csv", desc="cell tokens -> LLM")
    model.eval()
    result = {"n": n, "steps": steps, "train_llm": train_llm, **scores(model, n)}
    (Path(out) / "scores.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(*args[:3], *(int(a) for a in args[3:4]), train_llm="--train-llm" in sys.argv,
         newline="--no-newline" not in sys.argv)
