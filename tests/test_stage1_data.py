"""Stage-1 data: one sample per question, and cached frozen-ViT patch tokens that give
exactly the batches the images would."""

from __future__ import annotations

import json

import pytest
import torch

from test_model_vlm import backbones, image, model  # noqa: F401  (fixtures)
from vtscale.errors import InputError
from vtscale.train.stage1_data import FrozenPatchCache, QuestionCollate, QuestionDataset


def write_world(root, turns_per_record=(2, 1, 3)):
    records = []
    for i, turns in enumerate(turns_per_record):
        image(i, (48 + 16 * i, 40)).save(root / f"img{i}.png")
        conv = []
        for k in range(turns):
            conv += [{"from": "human", "value": f"is shape {k} red?"},
                     {"from": "gpt", "value": "yes" if (i + k) % 2 else "no"}]
        records.append({"id": f"r{i}", "image": f"img{i}.png", "conversations": conv})
    (root / "train.json").write_text(json.dumps(records))
    return root / "train.json"


def test_every_question_is_one_sample(tmp_path):
    dataset = QuestionDataset(write_world(tmp_path), tmp_path)
    assert len(dataset) == 6
    assert [(record.id, k) for record, k in dataset.items][:3] == [("r0", 0), ("r0", 1), ("r1", 0)]


def test_no_questions_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "train.json").write_text("[]")
    with pytest.raises(InputError, match="train.json"):
        QuestionDataset(tmp_path / "train.json", tmp_path)


def test_cached_patches_give_the_loss_of_the_images(model, tmp_path):  # noqa: F811
    model.trainable_parameters(1)
    model.eval()
    dataset = QuestionDataset(write_world(tmp_path), tmp_path)
    items = [dataset[i] for i in range(len(dataset))]
    cache = FrozenPatchCache(model)
    with torch.no_grad():
        direct = model.contrastive_loss(QuestionCollate(model, 4)(items))
        collate = QuestionCollate(model, 4, cache)
        cached = model.contrastive_loss(collate(items))
        again = model.contrastive_loss(collate(items))
    assert len(cache.store) == 3                     # one entry per image, not per question
    answers = {record.turns[k].answer for record, k in items}
    assert set(collate.answers.store) == answers     # one text-tower pass per distinct answer
    for key in ("loss", "contrastive", "identity"):
        assert cached[key].item() == pytest.approx(direct[key].item(), rel=1e-5)
        assert again[key].item() == pytest.approx(direct[key].item(), rel=1e-5)


def test_cache_refuses_a_trainable_vision_tower(model):  # noqa: F811
    model.trainable_parameters(2)
    with pytest.raises(ValueError, match="frozen vision tower"):
        FrozenPatchCache(model)
    model.trainable_parameters(1)
