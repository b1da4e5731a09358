"""Stage-1 data: one sample per question or per conversation, cached frozen-tower
outputs that give exactly the batches the images would, and train.stage1's checks."""

from __future__ import annotations

import json
import re

import pytest
import torch

from test_model_vlm import backbones, image, model  # noqa: F401  (fixtures)
from vtscale.config import config_section
from vtscale.data.conversations import RecordDataset
from vtscale.errors import ConfigError, InputError
from vtscale.model.setting import Setting
from vtscale.train.config import TrainSection
from vtscale.train.stage1_data import (ConversationContrastiveCollate, FrozenAnswerCache, FrozenPatchCache,
                                       QuestionCollate, QuestionDataset)


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
        direct = model.contrastive_loss(QuestionCollate(model, Setting(4, 4))(items))
        collate = QuestionCollate(model, Setting(4, 4), cache)
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


def test_a_conversation_sample_gives_one_pair_per_question(model, tmp_path):  # noqa: F811
    record = RecordDataset(write_world(tmp_path), tmp_path)[0]          # two questions
    batch = ConversationContrastiveCollate(model, Setting(4, 2))([record])
    assert batch["group_sizes"].tolist() == [4, 2]
    assert batch["answer_ids"].shape[0] == 2
    tok = model.fusion_tokenizer
    fused = batch["fusion_ids"][0][batch["fused_pos"]].tolist()
    assert fused == tok.query_ids(3) + [tok.eos_id] + tok.query_ids(1) + [tok.eos_id]
    answers = [tok.bpe.decode(row[1:eos].tolist()).strip()
               for row, eos in zip(batch["answer_ids"], batch["answer_eos"])]
    assert answers == [t.answer for t in record.turns]


def test_cached_conversations_give_the_loss_of_the_images(model, tmp_path):  # noqa: F811
    model.trainable_parameters(1)
    model.eval()
    records = list(RecordDataset(write_world(tmp_path), tmp_path))
    with torch.no_grad():
        direct = model.contrastive_loss(ConversationContrastiveCollate(model, Setting(4, 2))(records))
        cached = model.contrastive_loss(
            ConversationContrastiveCollate(model, Setting(4, 2), FrozenPatchCache(model))(records))
    for key in ("loss", "contrastive", "identity"):
        assert cached[key].item() == pytest.approx(direct[key].item(), rel=1e-5)


def test_answer_cache_refuses_a_trainable_text_tower(model):  # noqa: F811
    model.trainable_parameters(1, train_text=True)
    assert model.clip.positional_embedding.requires_grad
    with pytest.raises(ValueError, match="frozen text tower"):
        FrozenAnswerCache(model)
    model.trainable_parameters(1)


def test_cached_views_with_a_trainable_text_tower_train_it(model, tmp_path):  # noqa: F811
    """Views cached, answers not: the text tower gets its gradient (the paper trains it)."""
    model.trainable_parameters(1, train_text=True)
    dataset = QuestionDataset(write_world(tmp_path), tmp_path)
    collate = QuestionCollate(model, Setting(4, 4), FrozenPatchCache(model))
    batch = collate([dataset[i] for i in range(len(dataset))])
    assert collate.answers is None and "answer_embeds" not in batch
    model.contrastive_loss(batch)["loss"].backward()
    assert model.clip.positional_embedding.grad is not None
    model.zero_grad(set_to_none=True)
    model.trainable_parameters(1)


@pytest.mark.parametrize("keys, message", [
    ({"samples": "turns"}, "train.stage1.samples='turns'"),
    ({"identity": "full"}, "train.stage1.identity='full'"),
    ({"answer_mask_sigma": 0.0}, "train.stage1.answer_mask_sigma=0.0"),
    ({"cache_views": True, "train_vision_tower": True}, "train.stage1.cache_views"),
    ({"m": 2}, "train.stage1.m"),
    ({"samples": "conversation", "n": 2, "m": 4}, "train.stage1.m: 4 is more than its n"),
    ({"kind_repeats": {"words": 2}}, "train.stage1.kind_repeats: stages 2-3 only"),
])
def test_bad_stage1_settings_name_the_key(keys, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_section(TrainSection, {"train": {"stage1": {"steps": 1, **keys}}}, "train")
