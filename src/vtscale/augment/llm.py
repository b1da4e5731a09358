"""Load an instruct causal LM (local folder or hub id) for text generation, failing early
with a message that says how to get the weights."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class ModelUnavailableError(FileNotFoundError):
    """The requested model cannot be loaded (missing folder, no hub access, gated licence).
    A FileNotFoundError so that the CLI reports it as one line."""


def access_hint(source: str) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
    lines = [f"cannot load model {source!r}"]
    if offline:
        lines.append("HF_HUB_OFFLINE is set, so only the local cache is searched")
    lines.append("log in with `huggingface-cli login`, accept the model's licence on its hub page, "
                 "or set the config entry to a local model folder")
    return "; ".join(lines)


def load_causal_lm(source: str | os.PathLike, dtype=None):
    """``(model, tokenizer)`` from a local ``save_pretrained`` folder or a hub id.

    The tokenizer pads on the left (batched generation) and always has a pad token.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = str(source)
    looks_local = Path(source).exists() or source.startswith((".", "/")) or source.count("/") > 1
    if looks_local and not Path(source).is_dir():
        raise ModelUnavailableError(f"model folder {source!r} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as err:
        raise ModelUnavailableError(f"{access_hint(source)} ({err})") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise ModelUnavailableError(f"model {source!r} has no chat template; use an instruct model")
    log.info("loaded %s (%s, %.1fM parameters)", source, type(model).__name__,
             sum(p.numel() for p in model.parameters()) / 1e6)
    return model.eval(), tokenizer
