"""Multi-image benchmark rows (SEEDBench2 in VLMEvalKit's TSV format): read, fed to the
model by the eval.multi_image policy, turned into one fusion row."""

from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from vtscale.config import config_section
from vtscale.errors import ConfigError, InputError
from vtscale.eval.config import EvalConfig
from vtscale.eval.generate import generate_predictions
from vtscale.eval.multi_image import model_images
from vtscale.eval.tsv import read_benchmark
from vtscale.model.batch import BatchBuilder
from vtscale.model.config import ModelConfig
from vtscale.model.fusion import FusionTokenizer
from vtscale.model.hd_views import hd_views
from vtscale.model.setting import Setting
from vtscale.model.vlm import VisionTokenModel

REPO = Path(__file__).resolve().parents[1]

MODEL = {"vision": {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8,
                    "width": 32, "layers": 1, "heads": 2, "mlp_ratio": 2.0, "text_context": 40},
         "hd_views": 4, "fusion": {"layers": 1, "max_tokens": 8},
         "llm": {"source": "bootstrap", "hidden_size": 48, "layers": 2, "heads": 2, "intermediate_size": 64}}
SIZES = [(64, 32), (20, 90), (40, 40)]   # wide, tall, square: different view counts


def png_b64(size, colour=(200, 30, 30)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def seedbench2(tmp_path):
    """Row 0 has three images (VLMEvalKit writes the list's repr into the cell, the file
    names into image_path), row 1 one, row 2 refers to row 0's images by index."""
    images = [png_b64(size) for size in SIZES]
    rows = [{"index": 0, "image": repr(images), "image_path": repr(["0_0.jpg", "0_1.jpg", "0_2.jpg"]),
             "question": "Which image shows the sunset?", "A": "first", "B": "second", "C": "third",
             "D": "none", "answer": "C", "category": "Multiple Images"},
            {"index": 1, "image": png_b64((30, 30)), "image_path": "1.jpg", "question": "What is it?",
             "A": "red", "B": "blue", "C": "grey", "D": "gold", "answer": "A", "category": "Scene"},
            {"index": 2, "image": "0", "image_path": "", "question": "How many images?", "A": "1",
             "B": "2", "C": "3", "D": "4", "answer": "C", "category": "Multiple Images"}]
    path = tmp_path / "SEEDBench2.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def builder() -> BatchBuilder:
    cfg = config_section(ModelConfig, {"model": MODEL}, "model")
    return BatchBuilder(cfg, FusionTokenizer(cfg.fusion.max_tokens - 1))


def view_count(size) -> int:
    return len(hd_views(Image.new("RGB", size), 32, 4))


def test_multi_image_row_reads_every_image_in_order(seedbench2):
    bench = read_benchmark(seedbench2, "SEEDBench2", "mcq", strict=True)
    assert [im.size for im in bench.rows[0].load_images()] == SIZES
    assert [im.size for im in bench.rows[2].load_images()] == SIZES      # by reference
    assert [im.size for im in bench.rows[1].load_images()] == [(30, 30)]
    assert bench.has_multi_image
    with pytest.raises(InputError, match="3 images where one is expected"):
        bench.rows[0].load_image()


def test_all_images_views_fill_one_fusion_row_in_message_order(seedbench2):
    row = read_benchmark(seedbench2, "SEEDBench2", "mcq").rows[0]
    b = builder()
    per_view = b.cfg.vision.tokens_per_view
    views = [view_count(size) for size in SIZES]
    assert len(set(views)) > 1                                         # the sizes matter
    batch = b.fusion_inputs([model_images(row.load_images(), "all")], [[row.question]], n=4, m=2)
    question = len(b.fusion_tokenizer.encode(row.question))
    assert batch["pixels"].shape[0] == sum(views)
    assert batch["fusion_is_view"][0].sum().item() == sum(views) * per_view
    assert batch["fusion_ids"].shape[1] == sum(views) * per_view + question + 4
    # the first image's global view comes first, the last image's views last
    alone = [b.fusion_inputs([im], [["q"]], n=4, m=2)["pixels"] for im in row.load_images()]
    assert torch.equal(batch["pixels"], torch.cat(alone))


def test_last_image_policy_feeds_the_last_image_alone(seedbench2):
    row = read_benchmark(seedbench2, "SEEDBench2", "mcq").rows[0]
    b = builder()
    batch = b.fusion_inputs([model_images(row.load_images(), "last")], [[row.question]], n=4, m=2)
    assert batch["pixels"].shape[0] == view_count(SIZES[-1])


def test_single_image_samples_are_unchanged_by_the_list_form(seedbench2):
    rows = read_benchmark(seedbench2, "SEEDBench2", "mcq").rows
    b = builder()
    image = rows[1].load_images()[0]
    mixed = b.fusion_inputs([rows[0].load_images(), image], [["a"], ["b"]], n=4, m=2)
    plain = b.fusion_inputs([image], [["b"]], n=4, m=2)
    listed = b.fusion_inputs([[image]], [["b"]], n=4, m=2)
    for key in plain:
        assert torch.equal(plain[key], listed[key])
    width = plain["fusion_ids"].shape[1]
    assert torch.equal(mixed["fusion_ids"][1, :width], plain["fusion_ids"][0])
    assert torch.equal(mixed["pixels"][-plain["pixels"].shape[0]:], plain["pixels"])


class RecordingModel:
    """Stands in for VisionTokenModel.generate: records the image input of every row."""

    def __init__(self):
        self.seen = []

    def generate(self, images, questions, **kwargs):
        self.seen += images
        return ["A"] * len(images)


@pytest.mark.parametrize("policy", ["last", "all"])
def test_generation_hands_the_model_the_policy_images(seedbench2, policy):
    rows = read_benchmark(seedbench2, "SEEDBench2", "mcq").rows
    model = RecordingModel()
    generate_predictions(model, rows, [r.question for r in rows], setting=Setting(4, 2),
                         max_new_tokens=32, batch_size=8, sort_by_length=False, multi_image=policy)
    multi = model.seen[0]
    if policy == "last":
        assert multi.size == SIZES[-1]
    else:
        assert [im.size for im in multi] == SIZES
    assert model.seen[1].size == (30, 30)                               # one image: as before


def test_bad_image_in_a_list_is_a_counted_skip(tmp_path):
    rows = [{"index": 0, "image": repr([png_b64((8, 8)), "bm90IGFuIGltYWdl" * 6]), "question": "q",
             "A": "x", "B": "y", "answer": "A"},
            {"index": 1, "image": "['" + png_b64((8, 8)) + "', ", "question": "q", "A": "x", "B": "y",
             "answer": "A"}]
    path = tmp_path / "M.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    bench = read_benchmark(path, "M", "mcq")
    reasons = [s["reason"] for s in bench.skipped_list()]
    assert reasons[0].startswith("undecodable image 2 of 2")
    assert reasons[1].startswith("undecodable image")


def test_multi_image_policy_is_checked():
    assert config_section(EvalConfig, {"eval": {}}, "eval").multi_image == "last"
    with pytest.raises(ConfigError, match="eval.multi_image='first'"):
        config_section(EvalConfig, {"eval": {"multi_image": "first"}}, "eval")


def test_tiny_model_answers_a_multi_image_row_beside_a_single_image_one(seedbench2, tmp_path):
    """The views of all images reach the fusion module (one slot per view token) and the
    single-image row in the same batch answers as it does alone."""
    spec = importlib.util.spec_from_file_location("eval_speed", REPO / "benchmarks" / "eval_speed.py")
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    rows = read_benchmark(seedbench2, "SEEDBench2", "mcq").rows
    model = VisionTokenModel.from_pretrained(speed.build_tiny_model(tmp_path / "m", [r.question for r in rows]))
    images = [model_images(rows[0].load_images(), "all"), model_images(rows[1].load_images())]
    questions = [rows[0].question, rows[1].question]
    both = model.generate(images, questions, n=4, m=2, max_new_tokens=4)
    assert len(both) == 2
    assert both[1] == model.generate(images[1:], questions[1:], n=4, m=2, max_new_tokens=4)[0]
