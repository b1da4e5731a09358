"""`vtscale eval` checks the setting a model folder records against the one it is asked for."""

from __future__ import annotations

import json
import logging

import pytest

from vtscale.errors import InputError
from vtscale.eval import run
from vtscale.eval.setting_check import check_model_setting
from vtscale.model.folder import CONFIG_FILE, TrainedSetting
from vtscale.model.setting import Setting
from vtscale.variants import MODEL_OF, SEES_QUESTION, WITH_QUESTION, WITHOUT_QUESTION


def model_folder(tmp_path, record: TrainedSetting | None, key: bool = True):
    """Only the config JSON: the check runs before any weights are read."""
    folder = tmp_path / "model"
    folder.mkdir()
    meta = {"format": 1, "model": {}, "open_clip": {}, "llm": "llm"}
    if key:
        meta["trained_for"] = record.to_dict() if record else None
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    return folder


def stage3(kind: str, n: int = 8, m: int = 2) -> TrainedSetting:
    return TrainedSetting.for_stage(3, Setting(n, m, use_question=kind == WITH_QUESTION))


@pytest.mark.parametrize("variant", list(MODEL_OF))
def test_every_variant_on_its_own_model_is_allowed(tmp_path, variant):
    folder = model_folder(tmp_path, stage3(MODEL_OF[variant]))
    check_model_setting(folder, Setting(8, 2, SEES_QUESTION[variant]))


def test_no_question_variant_on_a_with_question_model_is_allowed(tmp_path):
    check_model_setting(model_folder(tmp_path, stage3(WITH_QUESTION)), Setting(8, 2, use_question=False))


@pytest.mark.parametrize("request_, what", [
    (Setting(16, 2, False), "n=16 m=2 without the question"),
    (Setting(8, 4, False), "n=8 m=4 without the question"),
    (Setting(8, 2, True), "n=8 m=2 with the question"),
])
def test_mismatch_fails_with_one_line_naming_folder_and_both_settings(tmp_path, request_, what):
    folder = model_folder(tmp_path, stage3(WITHOUT_QUESTION))
    with pytest.raises(InputError) as err:
        check_model_setting(folder, request_)
    message = str(err.value)
    assert "\n" not in message
    assert message == (f"{folder}: model trained for stage 3 at n=8 m=2 without the question, a "
                       f"without_question model, asked to evaluate it at {what}; pass "
                       "--allow-other-setting to evaluate it anyway")


def test_flag_allows_another_setting_with_a_warning(tmp_path, caplog):
    folder = model_folder(tmp_path, stage3(WITHOUT_QUESTION))
    with caplog.at_level(logging.WARNING):
        check_model_setting(folder, Setting(16, 2, True), allow_other=True)
    assert "evaluating anyway (--allow-other-setting)" in caplog.text


@pytest.mark.parametrize("key", [True, False])
def test_folder_without_a_record_evaluates_with_a_warning(tmp_path, caplog, key):
    folder = model_folder(tmp_path, None, key=key)
    with caplog.at_level(logging.WARNING):
        check_model_setting(folder, Setting(4, 2, True))
    assert "records no training setting" in caplog.text and str(folder) in caplog.text


def test_bad_record_names_the_file_and_field(tmp_path):
    folder = model_folder(tmp_path, None, key=False)
    meta = json.loads((folder / CONFIG_FILE).read_text())
    meta["trained_for"] = {"stage": 3, "n": "8", "m": 2, "question": True, "model": WITH_QUESTION}
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"vtscale_model.json: trained_for.n: expected int, got '8'"):
        check_model_setting(folder, Setting(8, 2, True))


def eval_argv(folder, tmp_path, *extra):
    cfg = {"eval": {"backend": "builtin", "benchmarks": {"B": {"tsv": "b.tsv", "type": "pope"}}}}
    return ["--cfg", json.dumps(cfg), "--model", str(folder), "--data-dir", str(tmp_path),
            "--n", "16", "--m", "2", "--variant", "question", "--out-dir", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), *extra]


def test_eval_refuses_before_reading_benchmarks_or_weights(tmp_path, monkeypatch):
    folder = model_folder(tmp_path, stage3(WITH_QUESTION))
    monkeypatch.setattr(run, "run_builtin", lambda *a: pytest.fail("evaluated despite the mismatch"))
    with pytest.raises(InputError, match="trained for stage 3 at n=8 m=2 .* asked to evaluate it at n=16 m=2"):
        run.main(eval_argv(folder, tmp_path))


def test_eval_flag_lets_it_through(tmp_path, monkeypatch):
    folder = model_folder(tmp_path, stage3(WITH_QUESTION))
    called = []
    monkeypatch.setattr(run, "run_builtin", lambda cfg, variant, setting, paths, shard: called.append(setting.n))
    assert run.main(eval_argv(folder, tmp_path, "--allow-other-setting")) == 0
    assert called == [16]
