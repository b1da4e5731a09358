"""The one (n, m, question) setting: its rule 1 <= m <= n <= max_tokens, its folder tag,
and the settings stages 1 and 2 train at (worked out once for the workflow)."""

from __future__ import annotations

import re

import pytest

from vtscale.errors import ConfigError
from vtscale.model.setting import Setting, drawn_setting, setting_tag
from vtscale.train.stage_setting import stage_section, stage_setting


@pytest.mark.parametrize("setting, message", [
    (Setting(0, 0), "config error: n: 0 is less than 1"),
    (Setting(4, 0), "config error: m: 0 is less than 1"),
    (Setting(2, 4), "config error: m: 4 is more than its n (2)"),
    (Setting(16, 2), "config error: n: 16 is more than model.fusion.max_tokens (8)"),
])
def test_each_violated_bound_names_its_field(setting, message):
    with pytest.raises(ConfigError) as err:
        setting.check(max_tokens=8)
    assert str(err.value) == message


@pytest.mark.parametrize("where, setting, message", [
    ("--", Setting(2, 3), "config error: --m: 3 is more than its n (2)"),
    ("--", Setting(0, 1), "config error: --n: 0 is less than 1"),
    ("train.stage2.", Setting(64, 8), "config error: train.stage2.n: 64 is more than model.fusion.max_tokens (32)"),
])
def test_the_field_is_named_where_it_was_set(where, setting, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        setting.check(32, where)


@pytest.mark.parametrize("setting", [Setting(1, 1), Setting(8, 1), Setting(8, 8, use_question=False)])
def test_a_valid_setting_passes_and_is_returned(setting):
    assert setting.check(8) is setting


def test_no_upper_bound_without_max_tokens():
    assert Setting(10_000, 8).check() == Setting(10_000, 8)


def test_tag_names_n_and_m_and_parses_back():
    assert Setting(256, 8).tag == "n256_m8" == setting_tag(256, 8)
    assert Setting.from_tag("n256_m8") == Setting(256, 8)
    assert setting_tag("{n}", "{m}") == "n{n}_m{m}"              # the workflow's wildcards
    for name in ("n256", "n256_m8_x", "question", "n_m8"):
        assert Setting.from_tag(name) is None


def test_describe():
    assert Setting(8, 2).describe() == "n=8 m=2 with the question"
    assert Setting(8, 2, use_question=False).describe() == "n=8 m=2 without the question"


def config(stage1: dict, stage2: dict) -> dict:
    return {"grid": {"n": [1, 8, 32], "m_default": 4}, "train": {"stage1": stage1, "stage2": stage2}}


@pytest.mark.parametrize("stage1, stage2, expected", [
    ({}, {}, (Setting(32, 32), Setting(32, 4))),                                 # the defaults
    ({"n": 8}, {"n": 16, "m": 2}, (Setting(8, 8), Setting(16, 2))),              # single questions: m = n
    ({"samples": "conversation"}, {"n": 16, "m": 2}, (Setting(16, 2), Setting(16, 2))),   # stage 2's
    ({"samples": "conversation", "n": 8}, {"n": 16}, (Setting(8, 4), Setting(16, 4))),
    ({"samples": "conversation"}, {}, (Setting(32, 4), Setting(32, 4))),
])
def test_stage_settings(stage1, stage2, expected):
    cfg = config(stage1, stage2)
    assert (stage_setting(cfg, "stage1"), stage_setting(cfg, "stage2")) == expected


def test_stage1_on_conversations_reads_stage2s_n_and_m_it_does_not_set():
    cfg = config({"samples": "conversation", "m": 2, "steps": 1}, {"n": 16, "m": 8})
    assert stage_section(cfg, "stage1") == {"samples": "conversation", "m": 2, "steps": 1, "n": 16}
    assert stage_section(config({"steps": 1}, {"n": 16}), "stage1") == {"steps": 1}


def test_drawn_setting_is_fixed_by_the_batch_and_covers_every_n():
    base = Setting(32, 4)
    batches = [[f"scene_{i:05d}_{k}" for k in range(8)] for i in range(200)]
    drawn = [drawn_setting(base, (1, 2, 4, 8, 16, 32), ids) for ids in batches]
    assert drawn == [drawn_setting(base, (1, 2, 4, 8, 16, 32), ids) for ids in batches]
    assert {s.n for s in drawn} == {1, 2, 4, 8, 16, 32}
    assert all(s.m == min(4, s.n) and s.use_question for s in drawn)


def test_at_n_caps_m_and_keeps_the_question_flag():
    assert Setting(32, 4, use_question=False).at_n(2) == Setting(2, 2, use_question=False)
    assert Setting(32, 4).at_n(8) == Setting(8, 4)


def test_no_draw_keeps_the_setting():
    base = Setting(8, 2, use_question=False)
    assert drawn_setting(base, (), ["a", "b"]) is base
