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


def _areas(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def patch_labels(items: list[Item], box: Box, grid: int) -> torch.Tensor:
    """[3, grid * grid] labels of the patches of the view cut from ``box``: a patch shows
    the item that overlaps it most (the first of equals), if that covers enough of the
    patch or of the item."""
    labels = torch.zeros((len(FIELDS), grid * grid), dtype=torch.long)
    if not items:
        return labels
    x0, y0, x1, y1 = box
    steps = torch.arange(grid, dtype=torch.float64)
    xs, ys = x0 + steps * (x1 - x0) / grid, y0 + steps * (y1 - y0) / grid
    w, h = (x1 - x0) / grid, (y1 - y0) / grid
    patches = torch.stack([xs.repeat(grid), ys.repeat_interleave(grid),
                           xs.repeat(grid) + w, ys.repeat_interleave(grid) + h], -1)   # [P, 4]
    boxes = torch.tensor([item[0] for item in items], dtype=torch.float64)          # [I, 4]
    corners = torch.cat([torch.maximum(patches[:, None, :2], boxes[None, :, :2]),
                         torch.minimum(patches[:, None, 2:], boxes[None, :, 2:])], -1)
    overlap = _areas(corners)                                                        # [P, I]
    shared, best = overlap.max(-1)
    needed = MIN_COVER * torch.minimum(_areas(patches), _areas(boxes)[best])
    shown = (shared >= needed) & (shared > 0)
    classes = torch.tensor([item[1] for item in items], dtype=torch.long)           # [I, 3]
    labels[:, shown] = classes[best[shown]].T
    return labels


def view_cell_labels(items: list[Item], box: Box, cells: int) -> torch.Tensor:
    """[3, cells * cells] labels of the view cut from ``box``, split into ``cells`` x
    ``cells`` cells: a cell shows the item whose centre it holds (the largest of several).
    On a whole scene these are the world's grid cells, one merged token each."""
    labels = torch.zeros((len(FIELDS), cells * cells), dtype=torch.long)
    x0, y0, x1, y1 = box
    largest = [0.0] * (cells * cells)
    for item_box, classes in items:
        cx, cy = (item_box[0] + item_box[2]) / 2, (item_box[1] + item_box[3]) / 2
        if not (x0 <= cx < x1 and y0 <= cy < y1):
            continue
        cell = int((cy - y0) * cells // (y1 - y0)) * cells + int((cx - x0) * cells // (x1 - x0))
        area = (item_box[2] - item_box[0]) * (item_box[3] - item_box[1])
        if area > largest[cell]:
            largest[cell] = area
            labels[:, cell] = torch.tensor(classes)
    return labels


def group_cells(tokens: torch.Tensor, cells: int) -> torch.Tensor:
    """Patch tokens [views, side * side, d] -> [views, cells * cells, k * k * d]: the k x k
    patches of each cell (k = side / cells) concatenated in raster order."""
    views, patches, width = tokens.shape
    side = round(patches ** 0.5)
    if side * side != patches or side % cells:
        raise ValueError(f"{patches} patch tokens do not tile a {cells} x {cells} grid of cells")
    k = side // cells
    grid = tokens.reshape(views, cells, k, cells, k, width).permute(0, 1, 3, 2, 4, 5)
    return grid.reshape(views, cells * cells, k * k * width)


class CellHeads(nn.Module):
    """One linear classifier per field on the ViT's patch tokens (or on each cell's
    patch tokens concatenated: ``inputs`` = k * k * width)."""

    def __init__(self, inputs: int, balanced: bool = False):
        super().__init__()
        self.balanced = balanced
        self.heads = nn.ModuleList(nn.Linear(inputs, len(classes)) for classes in FIELDS.values())

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """tokens [views, positions, inputs], labels [views, fields, positions]: mean CE
        (``balanced``: the mean of the positions that show the field and of those that
        do not, so the many empty ones do not drown the rest)."""
        losses = []
        for k, head in enumerate(self.heads):
            ce = nn.functional.cross_entropy(head(tokens).flatten(0, 1), labels[:, k].flatten(),
                                             reduction="none")
            shown = labels[:, k].flatten() > 0
            if self.balanced and shown.any() and not shown.all():
                losses.append((ce[shown].mean() + ce[~shown].mean()) / 2)
            else:
                losses.append(ce.mean())
        return torch.stack(losses).mean()
