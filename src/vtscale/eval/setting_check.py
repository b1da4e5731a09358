"""Does the model folder ``vtscale eval`` was given match the setting it is asked to
evaluate? Each model is trained for one (n, m) and, in stage 3, with or without the
question in the fusion input (vtscale/variants.py); scoring it at another setting
would put its scores under the wrong point of the scaling curves.

Allowed: the recorded n and m, with the question as trained, or without the question on
a model trained with it (the ``no_question`` variant). Anything else needs
``--allow-other-setting``. A folder that records no setting is evaluated with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vtscale.errors import InputError
from vtscale.model.folder import read_trained_setting
from vtscale.model.setting import Setting

log = logging.getLogger(__name__)

ALLOW_FLAG = "--allow-other-setting"


def is_allowed(recorded: Setting, request: Setting) -> bool:
    same_tokens = (recorded.n, recorded.m) == (request.n, request.m)
    return same_tokens and (recorded.use_question or not request.use_question)


def check_model_setting(model_dir: str | Path, request: Setting, allow_other: bool = False) -> None:
    """Raise InputError when the model was trained for another setting than ``request``,
    unless ``allow_other``; warn when it records none."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model folder not found")
    recorded = read_trained_setting(model_dir)
    if recorded is None:
        log.warning("%s: records no training setting (saved before vtscale recorded it); "
                    "evaluating it at %s unchecked", model_dir, request.describe())
        return
    if is_allowed(recorded.setting, request):
        return
    mismatch = (f"{model_dir}: model trained for {recorded.describe()}, "
                f"asked to evaluate it at {request.describe()}")
    if not allow_other:
        raise InputError(f"{mismatch}; pass {ALLOW_FLAG} to evaluate it anyway")
    log.warning("%s; evaluating anyway (%s)", mismatch, ALLOW_FLAG)
