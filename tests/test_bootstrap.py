"""Demo backbone bootstrap on a tiny world built in code: the folders the model reads."""

from __future__ import annotations

import json
from pathlib import Path

import open_clip
import pytest

from accelerate.state import AcceleratorState, GradientState
from PIL import Image, ImageDraw
from safetensors.torch import load_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, LlamaForCausalLM, PreTrainedTokenizerFast

from vtscale.errors import InputError
from vtscale.model.chat_template import CHATML
from vtscale.train import bootstrap_clip, bootstrap_lm
from vtscale.train.metrics import read_metrics

COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 170, 60)}
SHAPES = ("square", "circle")
TINY_VISION = {"source": "bootstrap", "name": "tiny", "view_size": 32, "patch_size": 8,
               "width": 32, "layers": 1, "heads": 2, "mlp_ratio": 2.0}
TINY_LLM = {"source": "bootstrap", "hidden_size": 48, "layers": 2, "heads": 2,
            "intermediate_size": 64}


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def draw_scene(colour: str, shape: str, size: int = 96) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    box = (size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    (draw.rectangle if shape == "square" else draw.ellipse)(box, fill=COLOURS[colour])
    return image


def make_world(root: Path, count: int = 12) -> Path:
    """Images, descriptions.json and conversations.json in the demo world's formats."""
    (root / "images").mkdir(parents=True)
    descriptions, conversations, scenes = [], [], []
    for i in range(count):
        colour, shape = list(COLOURS)[i % 3], SHAPES[(i // 3) % 2]
        name = f"images/scene_{i:03d}.png"
        draw_scene(colour, shape).save(root / name)
        scenes.append({"id": f"scene_{i:03d}", "image": name, "split": "train", "words": [],
                       "objects": [{"kind": shape, "color": colour, "size": "large",
                                    "cell": [1, 1], "bbox": [24, 24, 72, 72]}]})
        descriptions.append({"id": f"scene_{i:03d}", "image": name,
                             "description": f"The image shows one {colour} {shape} in the center."})
        conversations.append({"id": f"scene_{i:03d}", "image": name, "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is the shape?"},
            {"from": "gpt", "value": colour},
            {"from": "human", "value": f"Is there a {shape}? Please answer yes or no."},
            {"from": "gpt", "value": "Yes"}]})
    (root / "descriptions.json").write_text(json.dumps(descriptions))
    (root / "conversations.json").write_text(json.dumps(conversations))
    (root / "scenes.jsonl").write_text("".join(json.dumps(s) + "\n" for s in scenes))
    return root


def make_tokenizer_folder(path: Path, world: Path) -> Path:
    """A small byte-level BPE with a ChatML template, standing in for SmolLM2's."""
    texts = [d["description"] for d in json.loads((world / "descriptions.json").read_text())]
    texts += ["What colour is the shape? red blue green Yes No Please answer yes or no.",
              "user assistant system"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>",
                                   bos_token="<|im_start|>")
    fast.chat_template = CHATML
    fast.save_pretrained(path)
    return path


def bootstrap_cfg(steps: int = 8) -> str:
    stage = {"steps": steps, "batch_size": 6, "lr": 3e-3, "warmup": 0.1}
    lm = {**stage, "held_out": 3, "gate_every": max(1, steps // 2)}
    return json.dumps({"seed": 0, "bootstrap": {"clip": stage, "lm": lm},
                       "model": {"vision": TINY_VISION, "llm": TINY_LLM}, "world": {"image_size": 96}})


def run_bootstrap_clip(world: Path, out: Path, steps: int = 8) -> int:
    return bootstrap_clip.main([
        "--cfg", bootstrap_cfg(steps), "--descriptions", str(world / "descriptions.json"),
        "--image-root", str(world), "--out", str(out / "bootstrap_clip"),
        "--ckpt-dir", str(out / "ck_clip")])


def run_bootstrap_lm(world: Path, out: Path, steps: int = 8) -> int:
    tokenizer = make_tokenizer_folder(out / "tokenizer", world)
    return bootstrap_lm.main([
        "--cfg", bootstrap_cfg(steps), "--descriptions", str(world / "descriptions.json"),
        "--conversations", str(world / "conversations.json"), "--scenes", str(world / "scenes.jsonl"),
        "--tokenizer", str(tokenizer),
        "--out", str(out / "bootstrap_lm"), "--ckpt-dir", str(out / "ck_lm")])


def test_bootstrap_clip_writes_open_clip_folder_and_learns(tmp_path):
    world = make_world(tmp_path / "world")
    assert run_bootstrap_clip(world, tmp_path) == 0
    folder = tmp_path / "bootstrap_clip"
    config = json.loads((folder / "open_clip_config.json").read_text())
    assert config["vision_cfg"] == {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1,
                                    "head_width": 16, "mlp_ratio": 2.0}
    assert config["text_cfg"]["vocab_size"] == 49408
    clip = open_clip.model.CLIP(**config)
    clip.load_state_dict(load_file(str(folder / "open_clip_model.safetensors")), strict=True)
    rows = read_metrics(folder / "metrics.csv")
    assert len(rows) == 8 and rows[-1]["loss"] < rows[0]["loss"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["steps"] == 8 and summary["final_loss"] == rows[-1]["loss"]


def test_bootstrap_lm_writes_llama_with_chat_template_and_learns(tmp_path):
    world = make_world(tmp_path / "world")
    assert run_bootstrap_lm(world, tmp_path, steps=10) == 0
    folder = tmp_path / "bootstrap_lm"
    model = LlamaForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert model.config.hidden_size == 48 and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.chat_template == CHATML
    assert len(tokenizer) < 4096                       # refitted on the world's text
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n"
    assert tokenizer.eos_token == "<|im_end|>"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["final_loss"] < summary["first_loss"]
    gate = json.loads((folder / "gates.json").read_text())
    assert gate["gate"] == "llm" and gate["figures"]["color"]["target"] == 0.8
    assert {"color_blind", "color_description"} <= set(gate["figures"])
    assert [point["step"] for point in gate["curve"]] == [5, 10]


def test_missing_image_names_record(tmp_path):
    world = make_world(tmp_path / "world", count=3)
    (world / "images" / "scene_001.png").unlink()
    with pytest.raises(InputError, match=r"descriptions.json: record 'scene_001': image file"):
        run_bootstrap_clip(world, tmp_path)


def test_empty_descriptions_are_skipped_and_a_missing_field_is_named(tmp_path):
    world = make_world(tmp_path / "world", count=3)
    records = json.loads((world / "descriptions.json").read_text())
    from vtscale.train.bootstrap_clip import description_pairs
    records[2]["description"] = " "
    (world / "descriptions.json").write_text(json.dumps(records))
    assert len(description_pairs(world / "descriptions.json", world)) == 2
    del records[1]["description"]
    (world / "descriptions.json").write_text(json.dumps(records))
    with pytest.raises(InputError, match=r"record 1 \(scene_001\) lacks field 'description'"):
        run_bootstrap_clip(world, tmp_path)
