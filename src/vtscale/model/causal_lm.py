"""The one way to load a causal LM and its tokenizer (local folder, hub id or ``.gguf``
file), and the one pad-token rule for every tokenizer the pipeline batches with.

Every failure is one InputError line naming the source and the config entry or option
(``what``) that chose it: hub access through hub.require_model, a source that does not
load through hub.load_failure, and a tokenizer without the chat template every stage
relies on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vtscale.errors import InputError
from vtscale.hub import load_failure, require_model

log = logging.getLogger(__name__)


def pad_id(tokenizer) -> int:
    """The pad token's id, else EOS's: padded positions are masked, so any real id serves."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def ensure_pad_token(tokenizer) -> None:
    """Give a tokenizer without a pad token EOS as one (the rule of ``pad_id``)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def _resolve(source: str, what: str) -> tuple[str, dict]:
    """(folder or hub id, extra from_pretrained kwargs) of a source; a file is a GGUF."""
    path = Path(source)
    if path.suffix == ".gguf" or path.is_file():
        return str(path.parent), {"gguf_file": path.name}
    return require_model(source, what), {}


def _tokenizer(folder: str, kwargs: dict, source: str, what: str, default_template: str | None):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as err:
        raise load_failure(source, what, err) from None
    if not tokenizer.chat_template:
        if default_template is None:
            raise InputError(f"{what}: {source}: the tokenizer has no chat template; use an instruct model")
        log.info("%s has no chat template; using the default one", source)
        tokenizer.chat_template = default_template
    ensure_pad_token(tokenizer)
    return tokenizer


def load_tokenizer(source: str | os.PathLike, what: str, default_template: str | None = None):
    """A tokenizer with a chat template (``default_template`` where it has none) and a pad token."""
    folder, kwargs = _resolve(str(source), what)
    return _tokenizer(folder, kwargs, str(source), what, default_template)


def load_causal_lm(source: str | os.PathLike, what: str, dtype=None, default_template: str | None = None):
    """``(model in eval mode, tokenizer as load_tokenizer gives it)``; ``dtype`` None keeps
    the checkpoint's own."""
    from transformers import AutoModelForCausalLM

    folder, kwargs = _resolve(str(source), what)
    tokenizer = _tokenizer(folder, kwargs, str(source), what, default_template)
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    except (OSError, ValueError) as err:
        raise load_failure(source, what, err) from None
    log.info("loaded %s (%s, %.1fM parameters)", source, type(model).__name__,
             sum(p.numel() for p in model.parameters()) / 1e6)
    return model.eval(), tokenizer
