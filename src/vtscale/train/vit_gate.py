"""The ViT gate: do a vision tower's frozen patch tokens say what lies in each grid cell?

The paper's ViT (CLIP ViT-L) hands the fusion module patch tokens from which a linear
read-out gives what is where; the demo's bootstrapped ViT must do the same for the
fusion to have anything to look up. Per grid cell of the world (the merger makes one
token per cell), the cell's patch tokens are concatenated and a class-balanced linear
probe per field (colour, kind of shape, word) is trained on training scenes and scored
on held-out scenes: the share of the cells showing something of that field whose class
the probe names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from PIL import Image
from torch import nn

from vtscale.data.conversations import load_image
from vtscale.data.synth.config import GRID
from vtscale.errors import InputError
from vtscale.model.vision import patch_tokens
from vtscale.train.cell_labels import FIELDS, group_cells, scene_items, view_cell_labels
from vtscale.train.gates import Figure, Gate

GATE_NAME = "vit"
TARGETS = {"color": 0.98, "kind": 0.95, "word": 0.90}


@dataclass(frozen=True)
class ProbeSettings:
    """How long the probes train: full-batch Adam on standardised features (on the demo,
    300 steps read words 0.02 lower than 500, and 1,000 no higher than 500)."""
    steps: int = 500
    lr: float = 0.02


@dataclass
class SceneSet:
    """Scenes as the ViT sees them: uint8 views [scenes, 3, S, S] and every cell's class
    per field [scenes, fields, GRID * GRID] (0: the cell shows nothing of that field)."""
    views: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.views)


def load_scene_set(records: list[dict], image_root: Path, view_size: int) -> SceneSet:
    """Each scene's whole image, decoded once and resized bicubic to the ViT's view (the
    VLM's global view of a square scene)."""
    if not records:
        raise InputError("ViT gate: no scenes to probe")
    views, labels = [], []
    for record in records:
        image = load_image(image_root / record["image"])
        side = image.size[0]
        labels.append(view_cell_labels(scene_items(record), (0, 0, side, side), GRID))
        if image.size != (view_size, view_size):
            image = image.resize((view_size, view_size), Image.Resampling.BICUBIC)
        views.append(torch.from_numpy(np.array(image)).permute(2, 0, 1))
    return SceneSet(torch.stack(views), torch.stack(labels))


_MEAN = torch.tensor(OPENAI_DATASET_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
_STD = torch.tensor(OPENAI_DATASET_STD, dtype=torch.float32).view(1, 3, 1, 1)


def normalise_views(views: torch.Tensor) -> torch.Tensor:
    """uint8 [views, 3, H, W] -> what vtscale.model.vision.views_to_pixels makes of the
    same views: the same float32 arithmetic on the whole batch at once."""
    return views.float().div_(255.0).sub_(_MEAN).div_(_STD)


@torch.no_grad()
def cell_features(visual: nn.Module, views: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """[scenes, GRID * GRID, k * k * width]: the k x k patch tokens of each grid cell, concatenated."""
    was_training = visual.training
    visual.eval()
    tokens = torch.cat([patch_tokens(visual, normalise_views(views[i:i + batch_size]))
                        for i in range(0, len(views), batch_size)])
    visual.train(was_training)
    try:
        return group_cells(tokens, GRID)
    except ValueError as err:
        raise InputError(f"ViT gate: {err}") from None


def _balanced_weights(labels: torch.Tensor, classes: int) -> torch.Tensor:
    freq = torch.bincount(labels, minlength=classes).float().clamp(min=1)
    return (1 / freq) / (1 / freq).sum()


def train_probes(x: torch.Tensor, labels: torch.Tensor, classes: list[int],
                 settings: ProbeSettings) -> nn.Linear:
    """One linear head per field, trained together (one matmul a step; each field's rows
    see only its own loss): x [cells, d], labels [cells, fields]; every class weighted
    by its inverse frequency, so the frequent empty cells do not swamp the rest."""
    with torch.random.fork_rng():       # a probe mid-training leaves the run's RNG as it was
        head = nn.Linear(x.shape[-1], sum(classes))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    weights = [_balanced_weights(labels[:, f], c) for f, c in enumerate(classes)]
    optimizer = torch.optim.Adam(head.parameters(), settings.lr)
    with torch.enable_grad():
        for _ in range(settings.steps):
            logits = head(x).split(classes, dim=-1)
            loss = sum(nn.functional.cross_entropy(logits[f], labels[:, f], weight=weights[f])
                       for f in range(len(classes)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return head


def probe_accuracies(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                     test_y: torch.Tensor, settings: ProbeSettings = ProbeSettings()) -> dict[str, float]:
    """Per field, the accuracy over the test cells that show it (class > 0) of linear
    probes trained on all training cells; x [cells, d] and y [cells, fields]. NaN for a
    field no test cell shows."""
    classes = [len(names) for names in FIELDS.values()]
    mean, std = train_x.mean(0), train_x.std(0) + 1e-5
    head = train_probes((train_x - mean) / std, train_y, classes, settings)
    with torch.no_grad():
        predicted = [logits.argmax(-1) for logits in head((test_x - mean) / std).split(classes, dim=-1)]
    accuracies = {}
    for f, name in enumerate(FIELDS):
        shown = test_y[:, f] > 0
        hits = (predicted[f][shown] == test_y[shown, f]).float()
        accuracies[name] = float(hits.mean()) if shown.any() else float("nan")
    return accuracies


def probe_figures(visual: nn.Module, train: SceneSet, held_out: SceneSet,
                  settings: ProbeSettings = ProbeSettings()) -> dict[str, float]:
    """Held-out cell accuracy per field of probes on ``visual``'s frozen patch tokens."""
    def cells(scenes: SceneSet) -> tuple[torch.Tensor, torch.Tensor]:
        return cell_features(visual, scenes.views).flatten(0, 1), scenes.labels.transpose(1, 2).flatten(0, 1)
    return probe_accuracies(*cells(train), *cells(held_out), settings)


def vit_gate(visual: nn.Module, train: SceneSet, held_out: SceneSet,
             settings: ProbeSettings = ProbeSettings(), curve: list[dict] | None = None) -> Gate:
    """The ``vit`` gate: each field's held-out probe accuracy against its target."""
    values = probe_figures(visual, train, held_out, settings)
    note = (f"class-balanced linear probes on each grid cell's concatenated patch tokens: "
            f"trained on {len(train)} training scenes, scored on {len(held_out)} held-out "
            f"scenes over the cells that show the field")
    return Gate(GATE_NAME, {name: Figure(values[name], TARGETS[name]) for name in TARGETS},
                curve=list(curve or []), note=note)
