"""The ViT gate: per-cell linear probes on frozen patch tokens, and bootstrap-clip's
gates.json with its learning curve on a tiny generated world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from accelerate.state import AcceleratorState, GradientState

from test_bootstrap import TINY_VISION
from vtscale.errors import ConfigError
from vtscale.train import bootstrap_clip
from vtscale.train.cell_labels import FIELDS, scene_items, view_cell_labels
from vtscale.train.gate_curve import CURVE_FILE, GateCurve
from vtscale.train.vit_gate import (TARGETS, ProbeSettings, SceneSet, cell_features, probe_accuracies,
                                   vit_gate)

ROOT = Path(__file__).resolve().parents[1]
CLASSES = [len(names) for names in FIELDS.values()]


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def random_labels(cells: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (cells,), generator=generator) for c in CLASSES], -1)


def one_hot_features(labels: torch.Tensor, noise: float, seed: int) -> torch.Tensor:
    """Each field's class one-hot, concatenated, plus Gaussian noise: linearly separable."""
    hot = torch.cat([torch.nn.functional.one_hot(labels[:, f], c) for f, c in enumerate(CLASSES)], -1)
    return hot.float() + noise * torch.randn(hot.shape, generator=torch.Generator().manual_seed(seed))


def test_probes_read_separable_features_perfectly():
    train_y, test_y = random_labels(2000, 0), random_labels(500, 1)
    figures = probe_accuracies(one_hot_features(train_y, 0.1, 2), train_y,
                               one_hot_features(test_y, 0.1, 3), test_y)
    assert figures == {"color": 1.0, "kind": 1.0, "word": 1.0}


def test_probes_on_features_unrelated_to_the_cells_stay_near_chance():
    train_y, test_y = random_labels(2000, 0), random_labels(2000, 1)
    noise = torch.Generator().manual_seed(4)
    train_x, test_x = torch.randn(2000, 32, generator=noise), torch.randn(2000, 32, generator=noise)
    figures = probe_accuracies(train_x, train_y, test_x, test_y)
    for name, classes in zip(FIELDS, CLASSES):      # chance among the classes and "none"
        assert figures[name] < 2.0 / classes, (name, figures[name])


def test_probes_leave_the_global_rng_as_they_found_it():
    labels = random_labels(100, 0)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    probe_accuracies(one_hot_features(labels, 0.1, 2), labels, one_hot_features(labels, 0.1, 3), labels,
                     ProbeSettings(steps=5))
    assert torch.equal(torch.rand(3), expected)


def test_a_field_no_held_out_cell_shows_is_nan():
    train_y, test_y = random_labels(200, 0), random_labels(50, 1)
    test_y[:, 2] = 0
    figures = probe_accuracies(one_hot_features(train_y, 0.1, 2), train_y,
                               one_hot_features(test_y, 0.1, 3), test_y)
    assert figures["color"] == 1.0 and figures["word"] != figures["word"]


def test_items_are_labelled_in_the_cell_holding_their_centre():
    record = {"objects": [{"kind": "star", "color": "green", "bbox": [60, 0, 100, 40]}],
              "words": [{"text": "cup", "bbox": [170, 190, 215, 205]}]}
    labels = view_cell_labels(scene_items(record), (0, 0, 224, 224), 4).view(3, 4, 4)   # 56 px cells
    assert labels[0].nonzero().tolist() == [[0, 1]] and labels[0, 0, 1] == FIELDS["color"].index("green")
    assert labels[1, 0, 1] == FIELDS["kind"].index("star")
    assert labels[2].nonzero().tolist() == [[3, 3]] and labels[2, 3, 3] == FIELDS["word"].index("cup")
    quadrant = view_cell_labels(scene_items(record), (112, 112, 224, 224), 4).view(3, 4, 4)   # 2x zoom
    assert quadrant[0].sum() == 0 and quadrant[2].nonzero().tolist() == [[3, 2]]


class PatchIndexViT(torch.nn.Module):
    """Stands in for an open_clip ViT: each patch token is its own raster index."""

    def forward_intermediates(self, pixels, **kwargs):
        tokens = torch.arange(64.0).view(1, 64, 1).expand(len(pixels), 64, 1)
        return {"image_intermediates": [tokens]}


def test_a_cell_concatenates_its_own_two_by_two_patches():
    features = cell_features(PatchIndexViT(), torch.zeros((2, 3, 16, 16), dtype=torch.uint8))
    assert features.shape == (2, 16, 4)
    assert features[0, 0].tolist() == [0, 1, 8, 9]          # cell (0, 0): patches (0,0) (0,1) (1,0) (1,1)
    assert features[1, 5].tolist() == [18, 19, 26, 27]      # cell (1, 1)
    assert features[0, 15].tolist() == [54, 55, 62, 63]


def test_the_gate_names_each_figure_against_its_target():
    views = torch.zeros((4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.zeros((4, 3, 16), dtype=torch.long)
    labels[:, 0, :8] = 1
    scenes = SceneSet(views, labels)
    gate = vit_gate(PatchIndexViT(), scenes, scenes, curve=[{"step": 2, "color": 0.5}]).to_dict()
    assert gate["gate"] == "vit" and gate["curve"] == [{"step": 2, "color": 0.5}]
    assert {k: f["target"] for k, f in gate["figures"].items()} == TARGETS
    assert gate["figures"]["color"]["value"] == 1.0 and gate["figures"]["word"]["value"] is None


def test_curve_keeps_the_points_of_the_run_it_resumes(tmp_path):
    values = iter(range(100))
    curve = GateCurve(lambda: {"color": next(values) / 100}, every=2, folder=tmp_path)
    for step in range(1, 7):
        curve(step, {})
    assert [p["step"] for p in curve.points()] == [2, 4, 6]
    resumed = GateCurve(lambda: {"color": 0.9}, every=2, folder=tmp_path)   # resumed from step 4
    for step in range(5, 9):
        resumed(step, {})
    assert [(p["step"], p["color"]) for p in resumed.points()] == [(2, 0.0), (4, 0.01), (6, 0.9), (8, 0.9)]
    fresh = GateCurve(lambda: {"color": 0.5}, every=2, folder=tmp_path)     # no checkpoint: from 0
    fresh(1, {})
    assert fresh.points() == []


def test_curve_leaves_the_last_step_to_the_final_gate(tmp_path):
    curve = GateCurve(lambda: {"color": float("nan")}, every=2, folder=tmp_path, skip=6)
    for step in range(1, 7):
        curve(step, {})
    assert curve.points() == [{"step": 2, "color": None}, {"step": 4, "color": None}]


def run_bootstrap(world: Path, out: Path, stage: dict, world_cfg: dict | None) -> int:
    payload = {"seed": 0, "bootstrap": {"clip": stage}, "model": {"vision": TINY_VISION}}
    if world_cfg:
        payload["world"] = world_cfg
    return bootstrap_clip.main(["--cfg", json.dumps(payload), "--descriptions", str(world / "descriptions.json"),
                                "--scenes", str(world / "scenes.jsonl"), "--image-root", str(world),
                                "--out", str(out / "clip"), "--ckpt-dir", str(out / "ck")])


def test_bootstrap_clip_writes_the_gate_with_its_curve(world, tmp_path):
    stage = {"steps": 4, "batch_size": 8, "lr": 3e-3, "dense_weight": 1.0, "dense_labels": "cell",
             "dense_balanced": True, "crops": ["whole"], "extra_scenes": 40, "gate_every": 2}
    tiny = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    assert run_bootstrap(world, tmp_path, stage, tiny["world"]) == 0
    gate = json.loads((tmp_path / "clip" / "gates.json").read_text())
    assert gate["gate"] == "vit" and set(gate["figures"]) == set(TARGETS)
    assert all(0 <= f["value"] <= 1 for f in gate["figures"].values() if f["value"] is not None)
    assert [p["step"] for p in gate["curve"]] == [2, 4]       # 4: the final gate itself
    assert {k: round(f["value"], 4) for k, f in gate["figures"].items() if f["value"] is not None} \
        == {k: v for k, v in gate["curve"][-1].items() if k != "step" and v is not None}
    bench = sum(json.loads(line)["split"] != "train" for line in (world / "scenes.jsonl").open())
    assert f"scored on {bench} held-out scenes" in gate["note"]
    assert not (tmp_path / "ck" / CURVE_FILE).exists()
    summary = json.loads((tmp_path / "clip" / "summary.json").read_text())
    assert summary["generated_scenes"] == 40 and summary["samples"] == 4 * 8


def test_generated_scenes_need_the_world_section(world, tmp_path):
    stage = {"steps": 2, "batch_size": 8, "extra_scenes": 8}
    with pytest.raises(ConfigError, match="bootstrap.clip.extra_scenes needs the world section"):
        run_bootstrap(world, tmp_path, stage, None)
