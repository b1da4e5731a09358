"""The CLIP text side of stage 1: the extended context and how answers are tokenized."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vtscale.config import config_section
from vtscale.errors import ConfigError
from vtscale.model.config import ModelConfig
from vtscale.model.fusion import FusionTokenizer
from vtscale.model.vision import extend_text_context, normal_positions, stretch_positions


class TextTower(nn.Module):
    def __init__(self, context: int = 77, width: int = 8):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.3 + 0.1)
        self.context_length = context


def test_normal_init_keeps_the_old_rows_and_draws_the_new_ones_from_their_statistics():
    torch.manual_seed(0)
    old = torch.randn(77, 64) * 0.02 + 0.5
    new = normal_positions(old, 4096)
    assert new.shape == (4096, 64) and torch.equal(new[:77], old)
    std, mean = torch.std_mean(old)
    assert new[77:].mean().item() == pytest.approx(mean.item(), abs=1e-3)
    assert new[77:].std().item() == pytest.approx(std.item(), rel=0.02)


def test_stretch_and_normal_differ_only_beyond_the_kept_rows():
    old = torch.randn(77, 8)
    stretched, drawn = stretch_positions(old, 512), normal_positions(old, 512)
    assert torch.equal(stretched[:20], drawn[:20])
    assert not torch.allclose(stretched[77:], drawn[77:])


def test_extended_table_is_a_trainable_parameter_with_a_causal_mask():
    tower = TextTower()
    extend_text_context(tower, 512, init="normal")
    assert isinstance(tower.positional_embedding, nn.Parameter)
    assert tower.positional_embedding.shape == (512, 8) and tower.context_length == 512
    assert tower.attn_mask.shape == (512, 512) and tower.attn_mask[0, 1] == float("-inf")


def test_answers_without_sot_end_with_eot_within_the_context():
    tok = FusionTokenizer(3)
    with_sot = tok.encode_answer("a red square", 16)
    without = tok.encode_answer("a red square", 16, with_sot=False)
    assert with_sot[0] == tok.sot_id and with_sot[1:] == without
    assert without[-1] == tok.eos_id
    long = tok.encode_answer("word " * 40, 16, with_sot=False)
    assert len(long) == 16 and long[-1] == tok.eos_id and tok.sot_id not in long


def test_paper_profile_uses_the_authors_text_side(repo_root):
    import yaml
    paper = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    vision = config_section(ModelConfig, paper, "model").vision
    assert (vision.text_context_init, vision.answer_sot) == ("normal", False)


def test_unknown_text_context_init_names_the_key():
    with pytest.raises(ConfigError, match="model.vision.text_context_init='zeros'"):
        config_section(ModelConfig, {"model": {"vision": {"text_context_init": "zeros"}}}, "model")
