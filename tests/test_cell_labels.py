"""Per-patch cell labels for the CLIP bootstrap, and bootstrap-clip's dense loss on a
generated world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from test_bootstrap import TINY_VISION
from vtscale.errors import ConfigError
from vtscale.model.vision import BOOTSTRAP_WEIGHTS
from vtscale.train import bootstrap_clip
from vtscale.train.cell_labels import FIELDS, patch_labels, scene_items
from vtscale.train.metrics import read_metrics

RECORD = {"objects": [{"kind": "circle", "color": "red", "bbox": [10, 10, 40, 40]}],
          "words": [{"text": "cat", "bbox": [180, 185, 210, 200]}]}


def test_items_carry_class_indices():
    red, circle, cat = (FIELDS["color"].index("red"), FIELDS["kind"].index("circle"),
                        FIELDS["word"].index("cat"))
    assert scene_items(RECORD) == [((10, 10, 40, 40), (red, circle, 0)), ((180, 185, 210, 200), (0, 0, cat))]


def test_patches_show_the_item_that_covers_them():
    items = scene_items(RECORD)
    whole = patch_labels(items, (0, 0, 224, 224), 8).view(3, 8, 8)   # 28 px patches
    # the circle covers 18 x 18 px of patch (0, 0) (41 % of it), only 12 x 18 of (0, 1)
    assert whole[1].nonzero().tolist() == [[0, 0]]
    assert whole[2].nonzero().tolist() == [[6, 6], [6, 7]]
    quadrant = patch_labels(items, (0, 0, 112, 112), 8).view(3, 8, 8)   # 14 px patches, 2x zoom
    assert quadrant[0, 1, 1] > 0 and quadrant[0, 5:].sum() == 0 and quadrant[2].sum() == 0


def _bootstrap(world: Path, out: Path, dense_weight: float, scenes: bool = True) -> int:
    stage = {"steps": 6, "batch_size": 8, "lr": 3e-3, "warmup": 0.1, "dense_weight": dense_weight}
    cfg = json.dumps({"seed": 0, "bootstrap": {"clip": stage}, "model": {"vision": TINY_VISION}})
    return bootstrap_clip.main(["--cfg", cfg, "--descriptions", str(world / "descriptions.json"),
                                *(["--scenes", str(world / "scenes.jsonl")] if scenes else []),
                                "--image-root", str(world), "--out", str(out / "clip"),
                                "--ckpt-dir", str(out / "ck")])


def test_dense_loss_trains_and_the_heads_are_not_saved(world, tmp_path):
    assert _bootstrap(world, tmp_path, dense_weight=1.0) == 0
    rows = read_metrics(tmp_path / "clip" / "metrics.csv")
    assert len(rows) == 6 and {"contrastive", "cells"} <= set(rows[0])
    weights = load_file(str(tmp_path / "clip" / BOOTSTRAP_WEIGHTS))
    assert "visual.conv1.weight" in weights and not any(k.startswith(("cells.", "clip.")) for k in weights)


def test_dense_loss_without_scenes_names_the_key(world, tmp_path):
    with pytest.raises(ConfigError, match="bootstrap.clip.dense_weight"):
        _bootstrap(world, tmp_path, dense_weight=1.0, scenes=False)
