"""VLMEvalKit adapter: message parsing and lengths without vlmeval; registration with it."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from PIL import Image

from vtscale.errors import InputError
from vtscale.eval import vlmevalkit


def test_split_message_path_and_text(tmp_path):
    path = tmp_path / "x.png"
    Image.new("L", (5, 4)).save(path)
    image, prompt = vlmevalkit.split_message([
        {"type": "image", "value": str(path)}, {"type": "text", "value": "Question: q"},
        {"type": "text", "value": "Options:"}])
    assert image.mode == "RGB" and image.size == (5, 4)
    assert prompt == "Question: q\nOptions:"


def test_split_message_several_images_by_policy(tmp_path):
    paths = []
    for k, size in enumerate([(5, 4), (7, 3)]):
        paths.append(tmp_path / f"{k}.png")
        Image.new("RGB", size).save(paths[-1])
    message = [{"type": "image", "value": str(p)} for p in paths] + [{"type": "text", "value": "q"}]
    last, prompt = vlmevalkit.split_message(message, "last")
    both, _ = vlmevalkit.split_message(message, "all")
    assert last.size == (7, 3) and prompt == "q"          # the authors' wrapper keeps the last image
    assert [im.size for im in both] == [(5, 4), (7, 3)]


@pytest.mark.parametrize("message,match", [
    ([{"type": "text", "value": "q"}], "no image"),
    ([{"type": "video", "value": "v.mp4"}], "unsupported item type 'video'"),
])
def test_split_message_rejects(message, match):
    with pytest.raises(InputError, match=match):
        vlmevalkit.split_message(message)


@pytest.mark.parametrize("name,type_,expected", [
    ("MME", "Y/N", "yorn"), ("MMBench_DEV_EN", "MCQ", "mcq"), ("COCO_VAL", "Caption", "caption"),
    ("TextVQA_VAL", "VQA", "textvqa"), ("ChartQA_TEST", "VQA", "chartqa"), ("OCRBench", "VQA", "ocrbench"),
    ("MMVet", "VQA", "other"),
])
def test_type_mapping_gives_design_lengths(name, type_, expected):
    assert vlmevalkit.vtscale_type(name, type_) == expected


def test_flatten_result_dataframe_and_dict():
    frame = pd.DataFrame({"split": ["Overall", "random"], "Overall": [80.0, 70.0], "acc": [75.0, 60.0]})
    assert vlmevalkit.flatten_result(frame) == {"Overall": 80.0, "acc": 75.0,
                                                "random/Overall": 70.0, "random/acc": 60.0}
    assert vlmevalkit.flatten_result({"Bleu": [1.0, 2.0], "CIDEr": 3.0}) == \
        {"Bleu_1": 1.0, "Bleu_2": 2.0, "CIDEr": 3.0}


def test_flatten_result_omits_undefined_numbers():
    frame = pd.DataFrame({"split": ["Overall", "empty"], "Overall": [80.0, float("nan")]})
    assert vlmevalkit.flatten_result(frame) == {"Overall": 80.0}
    assert vlmevalkit.flatten_result({"Bleu": [1.0, float("nan")], "CIDEr": float("inf")}) == {"Bleu_1": 1.0}


def test_missing_vlmeval_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vlmeval", None)
    vlmevalkit.model_class.cache_clear()
    with pytest.raises(ImportError, match=vlmevalkit.VLMEVALKIT_COMMIT):
        vlmevalkit.model_class()
    vlmevalkit.model_class.cache_clear()


def test_register_grid_into_supported_vlm(tmp_path):
    pytest.importorskip("vlmeval")
    from vlmeval.config import supported_VLM

    names = vlmevalkit.register_grid(tmp_path, [(1, 1), (4, 2)], ["question", "no_question"])
    assert names == ["vtscale_question_n1_m1", "vtscale_question_n4_m2",
                     "vtscale_no_question_n1_m1", "vtscale_no_question_n4_m2"]
    entry = supported_VLM["vtscale_no_question_n4_m2"]
    assert entry.keywords["use_question"] is False and entry.keywords["n"] == 4
    assert entry.keywords["model_path"].endswith("stage3/with_question_n4_m2")


def test_runner_backend_switch_without_vlmeval_is_a_config_error(monkeypatch, tmp_path):
    import json

    from vtscale.errors import ConfigError
    from vtscale.eval import run

    monkeypatch.setitem(sys.modules, "vlmeval", None)
    argv = ["--cfg", json.dumps({"eval": {"backend": "vlmevalkit", "benchmarks": {}}}),
            "--model", str(tmp_path), "--data-dir", str(tmp_path), "--n", "1", "--m", "1",
            "--variant", "question", "--out-dir", str(tmp_path), "--cache-dir", str(tmp_path)]
    with pytest.raises(ConfigError, match="pip install 'vlmeval @ git"):
        run.main(argv)
