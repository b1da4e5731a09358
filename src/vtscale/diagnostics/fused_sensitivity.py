"""``vtscale fused-sensitivity`` (diagnostic): does the frozen LLM's loss depend on the
fused tokens?

Stage 2 can only learn if the generation loss changes when the fused vision tokens
change. This computes the answer loss of a model on a fixed batch of training records
with its fused tokens as they are, zeroed, scaled ×10 and shuffled across images. If
all four agree, stage 2 has no signal to follow (what the demo showed; docs/experiments.md).
Writes ``--out``: JSON ``{"n", "m", "records", "loss": {"normal", "zero", "x10", "shuffled"}}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from collections.abc import Callable

import torch

from vtscale.data.conversations import ConversationDataset
from vtscale.diagnostics.outputs import check_out, write_result
from vtscale.model.batch import splice_fused
from vtscale.model.losses import generation_objective, labelled_logits

log = logging.getLogger(__name__)

Edit = Callable[[torch.Tensor], torch.Tensor]


def shuffle_images(fused: torch.Tensor, samples: int) -> torch.Tensor:
    """Roll whole samples by one, so every sample gets another image's tokens."""
    return fused.view(samples, -1, fused.shape[-1]).roll(1, dims=0).reshape_as(fused)


def edits(samples: int) -> dict[str, Edit]:
    return {"normal": lambda f: f, "zero": torch.zeros_like, "x10": lambda f: 10 * f,
            "shuffled": lambda f: shuffle_images(f, samples)}


@torch.no_grad()
def sensitivity(model, samples: list, n: int, m: int) -> dict[str, float]:
    """Single-turn (first question) answer loss under each edit of the fused tokens;
    the vision encoder and fusion run once, only the frozen LLM runs per edit."""
    single = [dataclasses.replace(s, turns=s.turns[:1]) for s in samples]
    batch = model.batch_builder.generation(single, n, m)
    fused = model.projection(model.fuse(batch))
    tokens = model.token_embeddings(batch)
    losses = {}
    for name, edit in edits(len(single)).items():
        embeds = splice_fused(tokens, batch, edit(fused))
        losses[name] = generation_objective(*labelled_logits(model.llm, embeds, batch))["loss"].item()
    return losses


def main(argv: list[str] | None = None) -> int:
    from vtscale.model.vlm import VisionTokenModel
    parser = argparse.ArgumentParser(prog="vtscale fused-sensitivity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a stage-1/2/3 model folder")
    parser.add_argument("--data", required=True, help="LLaVA-format training json")
    parser.add_argument("--image-root", required=True, help="folder the json's image paths are relative to")
    parser.add_argument("--records", type=int, default=32, help="seeded random records to use")
    parser.add_argument("--n", type=int, default=16, help="fused tokens for the first question")
    parser.add_argument("--m", type=int, default=4, help="fused tokens for later questions")
    parser.add_argument("--out", required=True, help="result JSON to write")
    args = parser.parse_args(argv)
    out = Path(args.out)
    check_out(out)
    model = VisionTokenModel.from_pretrained(args.model).eval()
    data = ConversationDataset(args.data, args.image_root, max_samples=args.records, seed=0)
    losses = sensitivity(model, [data[i] for i in range(len(data))], args.n, args.m)
    write_result(out, {"n": args.n, "m": args.m, "records": len(data), "loss": losses})
    log.info("answer loss with fused tokens normal / zeroed / x10 / shuffled: %s",
             " / ".join(f"{v:.4f}" for v in losses.values()))
    return 0
