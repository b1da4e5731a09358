"""Batched evaluation vs VLMEvalKit's one-sample-at-a-time loop, same model and TSV.

    python benchmarks/eval_speed.py --tsv data/tiny/benchmarks/DemoPOPE.tsv --type pope \
        [--model results/demo/models/stage3/with_question_n4_m2] [--n 4 --m 2] [--limit 64]

Without --model a tiny random VisionTokenModel is built in code (offline). Writes
results/demo/benchmarks/eval_speed.json: both times, their ratio and whether the predictions
are identical.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from vtscale.eval import prompts
from vtscale.eval.generate import generate_predictions
from vtscale.eval.tsv import read_benchmark
from vtscale.io import write_json
from vtscale.logs import setup_logging
from vtscale.model.chat_template import CHATML
from vtscale.model.setting import Setting

log = logging.getLogger("eval_speed")

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_MODEL = {
    "vision": {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8, "width": 32,
               "layers": 1, "heads": 2, "mlp_ratio": 2.0, "text_context": 64},
    "hd_views": 2,
    "fusion": {"layers": 1, "max_tokens": 16},
    "llm": {"source": "bootstrap", "hidden_size": 64, "layers": 2, "heads": 2, "intermediate_size": 128},
}


def _tiny_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>",
                                   bos_token="<|im_start|>")
    fast.chat_template = CHATML
    return fast


def build_tiny_model(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """A random tiny VisionTokenModel saved with save_pretrained (no downloads)."""
    import open_clip
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM

    from vtscale.config import config_section
    from vtscale.model.config import ModelConfig
    from vtscale.model.vlm import VisionTokenModel

    torch.manual_seed(seed)
    root = Path(tempfile.mkdtemp(prefix="tiny_backbones_"))
    (root / "clip").mkdir()
    clip = open_clip.model.CLIP(**TINY_CLIP)
    (root / "clip" / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    save_file({k: v.contiguous() for k, v in clip.state_dict().items()},
              str(root / "clip" / "open_clip_model.safetensors"))
    tokenizer = _tiny_tokenizer(texts)
    llm = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id))
    llm.save_pretrained(root / "llm")
    tokenizer.save_pretrained(root / "llm")
    model = VisionTokenModel.from_config(config_section(ModelConfig, {"model": TINY_MODEL}, "model"),
                                         vision_init=str(root / "clip"), llm_init=str(root / "llm"))
    model.save_pretrained(folder)
    return folder


def timed(model, bench, texts, *, batch_size: int, sorted_: bool, args) -> tuple[float, dict]:
    start = time.perf_counter()
    preds = generate_predictions(model, bench.rows, texts, setting=Setting(args.n, args.m),
                                 max_new_tokens=args.max_new_tokens or prompts.max_new_tokens(bench.type),
                                 batch_size=batch_size, sort_by_length=sorted_,
                                 desc=f"batch={batch_size}")
    return time.perf_counter() - start, preds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tsv", required=True, type=Path)
    p.add_argument("--type", default=None)
    p.add_argument("--model", type=Path, default=None, help="VisionTokenModel folder (default: tiny random)")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--m", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--repeat", type=int, default=1, help="tile a small TSV's rows this many times")
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("results/demo/benchmarks/eval_speed.json"))
    args = p.parse_args(argv)
    setup_logging()
    torch.manual_seed(0)
    bench = read_benchmark(args.tsv, args.tsv.stem, args.type, args.limit)
    bench.rows = [dataclasses.replace(r, index=f"{k}_{r.index}")
                  for k in range(args.repeat) for r in bench.rows] if args.repeat > 1 else bench.rows
    texts = [prompts.build_prompt(row, bench.type) for row in bench.rows]
    from vtscale.model.vlm import VisionTokenModel

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or build_tiny_model(Path(tmp) / "model", texts + [" ".join(r.answers) for r in bench.rows])
        model = VisionTokenModel.from_pretrained(folder).eval()
    warm = type(bench)(bench.name, bench.type, bench.path, bench.rows[:2], [])
    timed(model, warm, texts[:2], batch_size=2, sorted_=True, args=args)  # warm-up
    t_single, single = timed(model, bench, texts, batch_size=1, sorted_=False, args=args)
    t_batched, batched = timed(model, bench, texts, batch_size=args.batch_size, sorted_=True, args=args)
    same = [single[r.index] == batched[r.index] for r in bench.rows]
    result = {"tsv": str(args.tsv), "repeat": args.repeat, "type": bench.type, "rows": len(bench.rows),
              "model": str(args.model) if args.model else "tiny random VisionTokenModel",
              "n": args.n, "m": args.m, "batch_size": args.batch_size,
              "threads": torch.get_num_threads(), "one_by_one_s": t_single, "batched_s": t_batched,
              "speedup": t_single / t_batched, "identical_predictions": all(same),
              "differing_rows": [r.index for r, s in zip(bench.rows, same) if not s]}
    write_json(args.out, result)
    log.info("one-by-one %.2fs, batched %.2fs, speed-up %.1fx, identical=%s",
             t_single, t_batched, result["speedup"], result["identical_predictions"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
