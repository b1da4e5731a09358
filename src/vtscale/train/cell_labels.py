"""Dense labels for the demo CLIP bootstrap: what lies under each ViT patch of a view.

A pretrained CLIP's patch tokens say what is in their part of the image; a small CLIP
trained on a few thousand captions does not learn that in the demo's budget (a
fusion module over its tokens learns a colour-and-kind lookup several times slower
than over ideal per-cell features; docs/experiments.md). The scene graph gives, for
every grid cell, the colour and kind of its shape or the word written in it, so
bootstrap-clip can add a per-patch classification loss (``bootstrap.clip.dense_weight``)
beside the contrastive one. The heads are dropped after the bootstrap.
"""

from __future__ import annotations

import torch
from torch import nn

from vtscale.data.synth.vocab import COLORS, KINDS, WORDS

GRID = 4                     # the world's cells per side (vtscale.data.synth.config.GRID)
FIELDS = {"color": ("none", *COLORS), "kind": ("none", *KINDS), "word": ("none", *WORDS)}
Box = tuple[int, int, int, int]


def _cell_of(bbox: list[int], cell_size: float) -> tuple[int, int]:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return int(cy // cell_size), int(cx // cell_size)


def cell_contents(record: dict, image_size: int) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Grid cell -> (colour, kind, word) class indices (0 = nothing) of one scene record."""
    cell_size = image_size / GRID
    cells: dict[tuple[int, int], list[int]] = {}
    for obj in record["objects"]:
        entry = cells.setdefault(_cell_of(obj["bbox"], cell_size), [0, 0, 0])
        entry[0] = FIELDS["color"].index(obj["color"])
        entry[1] = FIELDS["kind"].index(obj["kind"])
    for word in record["words"]:
        if word["text"] in FIELDS["word"]:
            cells.setdefault(_cell_of(word["bbox"], cell_size), [0, 0, 0])[2] = FIELDS["word"].index(word["text"])
    return {cell: tuple(value) for cell, value in cells.items()}


def patch_labels(contents: dict, box: Box, grid: int, image_size: int) -> torch.Tensor:
    """[3, grid * grid] labels of the patches of the view cut from ``box``: each patch
    takes the contents of the cell under its centre."""
    x0, y0, x1, y1 = box
    cell_size = image_size / GRID
    labels = torch.zeros((len(FIELDS), grid * grid), dtype=torch.long)
    for i in range(grid):
        for j in range(grid):
            x = x0 + (j + 0.5) * (x1 - x0) / grid
            y = y0 + (i + 0.5) * (y1 - y0) / grid
            cell = (min(int(y // cell_size), GRID - 1), min(int(x // cell_size), GRID - 1))
            labels[:, i * grid + j] = torch.tensor(contents.get(cell, (0, 0, 0)))
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
