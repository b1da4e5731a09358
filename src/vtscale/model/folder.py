"""A saved VisionTokenModel folder: its file names, its config JSON and the training
setting it records (no torch here, so the setting can be checked before loading).

``vtscale_model.json``: ``{"format", "model", "open_clip", "llm", "trained_for"}``;
``trained_for`` is ``{"stage", "n", "m", "question", "model"}`` (``model``: the stage-3
kind, vtscale/variants.py, null for stages 1-2) or null when the model was saved
outside ``vtscale train``; folders saved before it was recorded lack the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vtscale.errors import InputError
from vtscale.io import read_json
from vtscale.model.setting import Setting
from vtscale.variants import STAGE3_MODELS, WITH_QUESTION, WITHOUT_QUESTION

CONFIG_FILE = "vtscale_model.json"
WEIGHTS_FILE = "model.safetensors"
LLM_DIR = "llm"
FORMAT_VERSION = 1
RECORD_KEY = "trained_for"


@dataclass(frozen=True)
class TrainedSetting:
    """What a model was trained for: its stage, its setting and (stage 3) which kind of
    model it is."""
    stage: int
    setting: Setting
    model: str | None = None

    @classmethod
    def for_stage(cls, stage: int, setting: Setting) -> TrainedSetting:
        kind = (WITH_QUESTION if setting.use_question else WITHOUT_QUESTION) if stage == 3 else None
        return cls(stage, setting, kind)

    def describe(self) -> str:
        kind = f", a {self.model} model" if self.model else ""
        return f"stage {self.stage} at {self.setting.describe()}{kind}"

    def to_dict(self) -> dict[str, Any]:
        """The record's keys as every saved folder has them (``question``, not ``use_question``)."""
        s = self.setting
        return {"stage": self.stage, "n": s.n, "m": s.m, "question": s.use_question, "model": self.model}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TrainedSetting:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected an object with stage, n, m, question, model")
        for key, kind in (("stage", int), ("n", int), ("m", int), ("question", bool)):
            if not isinstance(data.get(key), kind) or (kind is int and isinstance(data[key], bool)):
                raise InputError(f"{where}.{key}: expected {kind.__name__}, got {data.get(key)!r}")
        if data.get("model") not in (None, *STAGE3_MODELS):
            raise InputError(f"{where}.model: {data['model']!r} is not one of {', '.join(STAGE3_MODELS)}")
        return cls(data["stage"], Setting(data["n"], data["m"], data["question"]), data.get("model"))


def read_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_FILE
    if not path.exists():
        raise InputError(f"{path}: missing (not a VisionTokenModel folder)")
    try:
        meta = read_json(path)
    except (OSError, ValueError) as err:
        raise InputError(str(err)) from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a JSON object")
    return meta


def read_trained_setting(folder: str | Path) -> TrainedSetting | None:
    """The recorded training setting, or None for a folder that records none."""
    record = read_config(folder).get(RECORD_KEY)
    if record is None:
        return None
    return TrainedSetting.from_dict(record, f"{Path(folder) / CONFIG_FILE}: {RECORD_KEY}")
