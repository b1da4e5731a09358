"""Dense labels for the demo CLIP bootstrap: what each ViT patch of a view shows.

A pretrained CLIP's patch tokens say what is in their part of the image; a small CLIP
trained on a few thousand captions does not learn that in the demo's budget (linear
probes on its patch tokens read colour but hardly the kind of shape and no words, and
a fusion module over them learns a colour-and-kind lookup far slower than over ideal
features; docs/experiments.md). The scene graph gives every shape's and word's box,
so bootstrap-clip can add a per-patch classification loss (``bootstrap.clip.
dense_weight``) beside the contrastive one. The heads are dropped after the bootstrap.
"""

from __future__ import annotations

import torch
from torch import nn

from vtscale.data.synth.vocab import COLORS, KINDS, WORDS

FIELDS = {"color": ("none", *COLORS), "kind": ("none", *KINDS), "word": ("none", *WORDS)}
Box = tuple[float, float, float, float]
Item = tuple[Box, tuple[int, int, int]]      # a shape or word: its box and (colour, kind, word)
MIN_COVER = 0.3     # share of the patch, or of the item, that must overlap to label the patch


def scene_items(record: dict) -> list[Item]:
    """Every shape and word of one scene record with its (colour, kind, word) class
    indices (0 = not this field)."""
    items = [(tuple(o["bbox"]), (FIELDS["color"].index(o["color"]), FIELDS["kind"].index(o["kind"]), 0))
             for o in record["objects"]]
    items += [(tuple(w["bbox"]), (0, 0, FIELDS["word"].index(w["text"])))
              for w in record["words"] if w["text"] in FIELDS["word"]]
    return items


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def patch_labels(items: list[Item], box: Box, grid: int) -> torch.Tensor:
    """[3, grid * grid] labels of the patches of the view cut from ``box``: a patch shows
    the item that overlaps it most, if that covers enough of the patch or of the item."""
    x0, y0, x1, y1 = box
    w, h = (x1 - x0) / grid, (y1 - y0) / grid
    labels = torch.zeros((len(FIELDS), grid * grid), dtype=torch.long)
    for i in range(grid):
        for j in range(grid):
            patch = (x0 + j * w, y0 + i * h, x0 + (j + 1) * w, y0 + (i + 1) * h)
            best = max(items, key=lambda item: _overlap(item[0], patch), default=None)
            if best is None:
                continue
            shared = _overlap(best[0], patch)
            if shared >= MIN_COVER * min(_area(patch), _area(best[0])) and shared > 0:
                labels[:, i * grid + j] = torch.tensor(best[1])
    return labels


class CellHeads(nn.Module):
    """One linear classifier per field on the ViT's patch tokens."""

    def __init__(self, width: int):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(width, len(classes)) for classes in FIELDS.values())

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """tokens [views, patches, width], labels [views, fields, patches]: mean CE."""
        losses = [nn.functional.cross_entropy(head(tokens).flatten(0, 1), labels[:, k].flatten())
                  for k, head in enumerate(self.heads)]
        return torch.stack(losses).mean()
