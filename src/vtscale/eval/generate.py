"""Greedy generation over benchmark rows: batched (sorted by prompt length) or one by one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch
from tqdm import tqdm

from vtscale.eval.benchmark import Row
from vtscale.eval.multi_image import LAST, model_images
from vtscale.model.setting import Setting

log = logging.getLogger(__name__)


@torch.inference_mode()
def generate_predictions(model, rows: Sequence[Row], prompts: Sequence[str], *, setting: Setting,
                         max_new_tokens: int, batch_size: int,
                         done: dict[str, str] | None = None,
                         on_batch: Callable[[dict[str, str]], None] | None = None,
                         sort_by_length: bool = True, desc: str = "generate",
                         multi_image: str = LAST) -> dict[str, str]:
    """Predictions by row index. Rows in ``done`` are not generated again; every finished
    batch is passed to ``on_batch`` (the cache). Longest prompts first: similar lengths
    share a batch (less padding) and memory trouble shows at once. ``multi_image``: which
    images of a multi-image row the model sees (``eval/multi_image.py``)."""
    preds = dict(done or {})
    todo = [i for i, row in enumerate(rows) if row.index not in preds]
    if sort_by_length:
        todo.sort(key=lambda i: -len(prompts[i]))
    batches = [todo[k:k + batch_size] for k in range(0, len(todo), batch_size)]
    if len(todo) < len(rows):
        log.info("%s: %d of %d predictions cached", desc, len(rows) - len(todo), len(rows))
    for batch in tqdm(batches, desc=desc, unit="batch", disable=not batches):
        images = [model_images(rows[i].load_images(), multi_image) for i in batch]
        outputs = model.generate(images, [prompts[i] for i in batch], n=setting.n, m=setting.m,
                                 use_question=setting.use_question, max_new_tokens=max_new_tokens)
        new = {rows[i].index: str(out).strip() for i, out in zip(batch, outputs)}
        preds.update(new)
        if on_batch:
            on_batch(new)
    return preds
