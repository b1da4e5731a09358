"""Optional VLMEvalKit backend: VisionTokenModel as a ``vlmeval`` model.

VLMEvalKit is not on PyPI; it is imported only here and only when used. The pure parts
(message parsing, generation lengths) work without it.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from vtscale.errors import InputError
from vtscale.eval import prompts
from vtscale.eval.benchmark import rows_summary
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.eval.metrics import answer_spread
from vtscale.eval.multi_image import LAST, model_images
from vtscale.eval.paths import EvalPaths
from vtscale.eval.predictions import predictions_path, write_predictions
from vtscale.eval.scoring import write_scores
from vtscale.model.setting import Setting
from vtscale.variants import MODEL_OF, SEES_QUESTION

log = logging.getLogger(__name__)

VLMEVALKIT_COMMIT = "e8e78f05f3080fe28154f2130321f17951c3be94"  # 2026-08-18, main
INSTALL_HINT = ("VLMEvalKit is not installed (it is not on PyPI). Install it with: pip install "
                f"'vlmeval @ git+https://github.com/open-compass/VLMEvalKit.git@{VLMEVALKIT_COMMIT}'"
                " or set eval.backend: builtin")


def require_vlmeval():
    try:
        import vlmeval  # noqa: F401
        from vlmeval.vlm.base import BaseModel
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from None
    return BaseModel


def split_message(message: Iterable[Mapping[str, Any]],
                  multi_image: str = LAST) -> tuple[Image.Image | list[Image.Image], str]:
    """VLMEvalKit message -> (the model's image input, the prompt). Images are paths or PIL
    images, picked by the ``multi_image`` policy; text parts are joined with newlines."""
    images, texts = [], []
    for item in message:
        kind, value = item.get("type"), item.get("value")
        if kind == "image":
            images.append(value if isinstance(value, Image.Image) else Image.open(value))
        elif kind == "text":
            texts.append(str(value))
        else:
            raise InputError(f"VLMEvalKit message: unsupported item type {kind!r}")
    if not images:
        raise InputError("VLMEvalKit message: no image")
    return model_images([image.convert("RGB") for image in images], multi_image), "\n".join(texts)


def vtscale_type(dataset_name: str | None, dataset_type: str | None) -> str:
    """Our dataset type for a VLMEvalKit dataset (for the generation length): the one named
    by VLMEvalKit's dataset type (and a part of the name, where it gives one), else the one
    a part of whose name the dataset's holds, else "other"."""
    name = (dataset_name or "").lower()
    by_type = [k for k in DATASET_TYPES.values() if k.vlmevalkit_type and k.vlmevalkit_type == dataset_type]
    by_name = [k for k in DATASET_TYPES.values() if not k.vlmevalkit_type and k.vlmevalkit_name]
    return next((k.name for k in by_type + by_name if (k.vlmevalkit_name or "") in name), "other")


class VisionTokenAdapter:
    """The part of the VLMEvalKit model that needs no vlmeval: load and answer."""

    INTERLEAVE = False

    def __init__(self, model_path: str, n: int, m: int, use_question: bool = True,
                 max_new_tokens: Mapping[str, int] | None = None, multi_image: str = LAST):
        from vtscale.model.vlm import VisionTokenModel

        self.model = VisionTokenModel.from_pretrained(model_path).eval()
        self.n, self.m, self.use_question = n, m, use_question
        self.max_new_tokens = dict(max_new_tokens or {})
        self.multi_image = multi_image

    def answer(self, message, dataset_name: str | None, dataset_type: str | None) -> str:
        image, prompt = split_message(message, self.multi_image)
        limit = prompts.max_new_tokens(vtscale_type(dataset_name, dataset_type), self.max_new_tokens)
        return self.model.generate([image], [prompt], n=self.n, m=self.m,
                                   use_question=self.use_question, max_new_tokens=limit)[0]


@functools.cache
def model_class():
    """``VisionTokenVLM(BaseModel)``, built on first use so vlmeval stays optional."""
    BaseModel = require_vlmeval()
    from vlmeval.dataset import DATASET_TYPE

    class VisionTokenVLM(VisionTokenAdapter, BaseModel):
        def __init__(self, model_path, n, m, use_question=True, max_new_tokens=None, multi_image=LAST):
            BaseModel.__init__(self)
            VisionTokenAdapter.__init__(self, model_path, n, m, use_question, max_new_tokens, multi_image)

        def generate_inner(self, message, dataset=None):
            return self.answer(message, dataset, DATASET_TYPE(dataset) if dataset else None)

    return VisionTokenVLM


def model_name(variant: str, setting: Setting) -> str:
    return f"vtscale_{variant}_{setting.tag}"


def register(checkpoints: Mapping[str, tuple[str, Setting]], **kwargs) -> list[str]:
    """Add every ``name -> (model folder, setting)`` to VLMEvalKit's supported_VLM."""
    cls = model_class()
    from vlmeval.config import supported_VLM

    for name, (path, setting) in checkpoints.items():
        supported_VLM[name] = functools.partial(cls, model_path=str(path), n=setting.n, m=setting.m,
                                                use_question=setting.use_question, **kwargs)
    return list(checkpoints)


def register_grid(models_dir: str | Path, settings: Iterable[tuple[int, int]],
                  variants: Iterable[str]) -> list[str]:
    """Register the stage-3 checkpoints of every (variant, n, m) (same mapping as eval.smk)."""
    checkpoints = {}
    for variant in variants:
        for n, m in settings:
            setting = Setting(n, m, SEES_QUESTION[variant])
            folder = Path(models_dir) / "stage3" / f"{MODEL_OF[variant]}_{setting.tag}"
            checkpoints[model_name(variant, setting)] = (str(folder), setting)
    return register(checkpoints)


def flatten_result(result: Any) -> dict[str, float]:
    """VLMEvalKit's evaluate() returns a dict or a DataFrame (one row per split). An
    undefined number (NaN, e.g. of an empty split) is left out: JSON has no NaN."""
    if isinstance(result, pd.DataFrame):
        metrics = {}
        split_col = "split" if "split" in result.columns else None
        for _, row in result.iterrows():
            split = str(row[split_col]) if split_col else ""
            for col, value in row.items():
                if col == split_col or not _is_finite(value):
                    continue
                key = col if split in ("", "Overall", "none") else f"{split}/{col}"
                metrics[key] = float(value)
        return metrics
    if isinstance(result, Mapping):
        out = {}
        for k, v in result.items():
            if isinstance(v, (list, tuple)):   # COCO: "Bleu": [b1..b4]
                out.update({f"{k}_{i}": float(x) for i, x in enumerate(v, start=1) if _is_finite(x)})
            elif _is_finite(v):
                out[str(k)] = float(v)
        return out
    raise TypeError(f"unexpected VLMEvalKit result type {type(result).__name__}")


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def run_vlmevalkit(cfg, variant: str, setting: Setting, paths: EvalPaths) -> None:
    """Each benchmark name must be a VLMEvalKit dataset (or a TSV in its LMUData folder)."""
    require_vlmeval()
    from vlmeval.config import supported_VLM
    from vlmeval.dataset import build_dataset
    from vlmeval.inference import infer_data_job
    from vlmeval.smp import get_pred_file_path, load

    name = model_name(variant, setting)
    register({name: (str(paths.model), setting)}, max_new_tokens=cfg.max_new_tokens,
             multi_image=cfg.multi_image)
    model = supported_VLM[name]()
    for bench in cfg.benchmarks:
        dataset = build_dataset(bench)
        if dataset is None:
            raise InputError(f"eval.benchmarks.{bench}: VLMEvalKit cannot build this dataset")
        work_dir = paths.cache_dir / "vlmevalkit"
        work_dir.mkdir(parents=True, exist_ok=True)
        model = infer_data_job(model, work_dir=str(work_dir), model_name=name, dataset=dataset)
        pred_file = get_pred_file_path(str(work_dir), name, bench)
        result = dataset.evaluate(pred_file, model="exact_matching")
        preds = load(pred_file)
        write_predictions(predictions_path(paths.out_dir, bench), preds["index"], preds["prediction"])
        # VLMEvalKit scores every row it reads: none skipped.
        write_scores(paths.out_dir / f"{bench}.scores.json", {
            "variant": variant, "benchmark": bench, "type": dataset.TYPE, "n": setting.n,
            "m": setting.m, "rules": "vlmevalkit-installed", "rows": rows_summary(scored=len(preds)), "skipped": [],
            "metrics": flatten_result(result), "answers": answer_spread(preds["prediction"].tolist())})
