"""vtscale question-probe (diagnostic): balanced, true questions over the world's vocabulary
and a curve from a real fine-tune in the shared training loop."""

from __future__ import annotations

import json
import random

import pytest
from accelerate.state import AcceleratorState

from test_bootstrap import make_world, run_bootstrap_clip, run_bootstrap_lm
from test_train_stages import train_stage1
from vtscale import cli
from vtscale.errors import InputError
from vtscale.data.synth.vocab import COLORS, KINDS
from vtscale.diagnostics.question_probe import (FIXED_COLOR, make_question, question_only_accuracy,
                                               read_scenes)

SCENE = {"image": "a.png", "split": "train", "objects": [
    {"color": "red", "kind": "circle"}, {"color": "blue", "kind": "square"}]}


@pytest.mark.parametrize("task", ["color", "color_kind"])
def test_questions_are_balanced_and_true(task):
    rng, answers = random.Random(0), []
    for _ in range(400):
        question, answer = make_question(SCENE, task, rng)
        asked = question.removeprefix("Is there ").removesuffix(" in the image?").split(" ", 1)[1]
        name = asked.removesuffix(" shape")
        truth = name in ({"red", "blue"} if task == "color" else {"red circle", "blue square"})
        assert answer == ("Yes" if truth else "No"), question
        answers.append(answer)
    assert 0.4 < answers.count("Yes") / len(answers) < 0.6


@pytest.mark.parametrize("task, names", [("color", set(COLORS)),
                                         ("color_kind", {f"{c} {k}" for c in COLORS for k in KINDS})])
def test_questions_ask_only_about_the_world_vocabulary(task, names):
    rng = random.Random(0)
    asked = set()
    for _ in range(2000):
        question, _ = make_question(SCENE, task, rng)
        name = question.removeprefix("Is there ").removesuffix(" in the image?").split(" ", 1)[1]
        asked.add(name.removesuffix(" shape"))
    assert asked == names
    assert FIXED_COLOR in COLORS


def test_fixed_question_never_changes():
    rng = random.Random(0)
    blue_only = {**SCENE, "objects": [{"color": "blue", "kind": "star"}]}
    assert make_question(SCENE, "fixed", rng) == ("Is there a red shape in the image?", "Yes")
    assert make_question(blue_only, "fixed", rng) == ("Is there a red shape in the image?", "No")


def test_question_only_baseline_answers_each_question_as_training_did():
    red, blue = "Is there a red shape in the image?", "Is there a blue shape in the image?"
    only_red = [{**SCENE, "objects": [{"color": "red", "kind": "star"}]}] * 10
    # red is always present in training -> "Yes"; blue is only ever asked as absent -> "No"
    assert question_only_accuracy(only_red, [(red, "No"), (blue, "No"), (red, "Yes")],
                                  "color", seed=0) == 2 / 3
    # a question never asked in training gets the most frequent answer overall
    no_red = [{**SCENE, "objects": [{"color": "blue", "kind": "star"}]}] * 10
    assert question_only_accuracy(no_red, [(blue, "No"), (red, "Yes")], "fixed", seed=0) == 1 / 2


def test_scenes_need_both_splits_and_objects(tmp_path):
    path = tmp_path / "scenes.jsonl"
    path.write_text(json.dumps(SCENE) + "\n")
    with pytest.raises(InputError, match="held-out"):
        read_scenes(path)
    path.write_text(json.dumps({"image": "a.png", "split": "train"}) + "\n")
    with pytest.raises(InputError, match=r"scenes.jsonl: line 1: needs 'image', 'split' and an 'objects'"):
        read_scenes(path)
    path.write_text(json.dumps({**SCENE, "objects": [{"color": "red"}]}) + "\n")
    with pytest.raises(InputError, match=r"scenes.jsonl: line 1: every object needs 'color' and 'kind'"):
        read_scenes(path)


def write_scenes(world, count: int = 12) -> None:
    """The test world's scenes.jsonl (one shape per image) with the last four held out."""
    lines = (world / "scenes.jsonl").read_text().splitlines()
    rows = [{**json.loads(line), "split": "train" if i < count - 4 else "bench"}
            for i, line in enumerate(lines)]
    (world / "scenes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_probe_fine_tunes_a_copy_and_writes_its_curve(tmp_path):
    world = make_world(tmp_path / "world")
    write_scenes(world)
    assert run_bootstrap_clip(world, tmp_path, steps=2) == 0
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run_bootstrap_lm(world, tmp_path, steps=2) == 0
    AcceleratorState._reset_state(reset_partial_state=True)
    model = train_stage1(world, tmp_path, tmp_path)
    before = (model / "model.safetensors").read_bytes()
    out = tmp_path / "probe.json"
    assert cli.main(["question-probe", "--model", str(model), "--scenes", str(world / "scenes.jsonl"),
                     "--image-root", str(world), "--out", str(out), "--task", "fixed", "--steps", "3",
                     "--batch-size", "4", "--n", "4", "--m", "2", "--eval-every", "2",
                     "--no-question"]) == 0
    result = json.loads(out.read_text())
    held_red = sum(1 for i in range(8, 12) if i % 3 == 0)     # make_world colours cycle red, blue, green
    assert result["held_out"] == 4 and result["use_question"] is False
    assert 0.0 <= result["question_only"] <= 1.0
    assert result["majority"] == max(held_red, 4 - held_red) / 4
    assert [p["step"] for p in result["curve"]] == [0, 2, 3]
    assert all(0.0 <= p["accuracy"] <= 1.0 for p in result["curve"])
    assert all(p["loss"] > 0 for p in result["curve"][1:])
    assert (model / "model.safetensors").read_bytes() == before
    metrics = (tmp_path / "probe.metrics.csv").read_text().splitlines()     # the shared loop's CSV
    assert metrics[0].startswith("step,epoch,loss") and len(metrics) == 1 + 3
    assert [float(line.split(",")[2]) for line in metrics[2:]] == [p["loss"] for p in result["curve"][1:]]
