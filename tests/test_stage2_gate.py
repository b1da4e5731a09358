"""Stage 2's held-out per-kind check (train/stage2_gate.py) and the question kinds it reads."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from vtscale.config import config_section
from vtscale.data.conversations import Record
from vtscale.data.question_kinds import at_most_per_kind, question_kind, repeated_by_kind
from vtscale.data.sample import Turn
from vtscale.errors import ConfigError
from vtscale.train import run
from vtscale.train.config import TrainConfig, TrainSection
from vtscale.train.stage2_gate import BlindBaselines, first_question_kind, single_turns, split_by_image


@pytest.mark.parametrize("question, kind", [
    ("<image>\nIs there a red circle in the image? Please answer yes or no.", "existence"),
    ("Is the square on the right yellow? Please answer yes or no.", "color_yn"),
    ("Are there exactly 3 squares in the image? Please answer yes or no.", "count_yn"),
    ('Is the word "hat" written in the image? Please answer yes or no.', "word_yn"),
    ("Is the red circle in the top left of the image? Please answer yes or no.", "position_yn"),
    ("What color is the circle at the top?\nAnswer the question using a single word or phrase.", "color"),
    ("What word is written in the top left?\nAnswer the question using a single word or phrase.", "word"),
    ("How many stars are there in the image?", "count"),
    ("Question: How many stars are there in the image?\nOptions:\nA. 3\nB. 0\n", "mcq"),
    ("Please describe this image in general.", "caption"),
    ("Is the sky blue in this picture?", "other"),
])
def test_question_kinds_of_the_world_forms(question, kind):
    assert question_kind(question) == kind


def record(i: int, turns: list[tuple[str, str]]) -> Record:
    return Record(f"r{i}", Path(f"images/{i % 5}.png"), [Turn(q, a) for q, a in turns])


def test_held_out_images_leave_no_record_in_training():
    records = [record(i, [("What word is written in the image?", "cat")]) for i in range(20)]
    training, held = split_by_image(records, held_out=2, seed=0)
    assert len({r.image for r in held}) == 2
    assert not {r.image for r in held} & {r.image for r in training}
    assert len(training) + len(held) == 20


def test_single_turns_ask_every_question_first_and_limit_per_kind():
    rec = record(0, [("What color is the circle at the top?", "red"),
                     ("Please describe this image in general.", "A red circle."),
                     ("Is there a red circle in the image? Please answer yes or no.", "Yes")])
    assert [r.turns[0].answer for r in single_turns([rec])] == ["red", "Yes"]
    assert len(single_turns([rec], kinds=None)) == 3
    assert len(at_most_per_kind(single_turns([rec] * 5), 2, first_question_kind)) == 4


def test_blind_baselines_take_the_better_of_majority_and_question_alone():
    q1, q2 = "Is there a red circle in the image?", "Is there a blue star in the image?"
    training = [record(0, [(q1, "Yes")]), record(1, [(q1, "Yes")]), record(2, [(q2, "No")])]
    baselines = BlindBaselines.fit(training)
    assert baselines.by_kind["existence"] == "Yes" and baselines.by_question[q2] == "No"
    probe = single_turns([record(3, [(q1, "Yes")]), record(4, [(q2, "No")])])
    assert baselines.accuracy(probe) == {"existence": 1.0}     # question alone gets both


def test_stage1_leaves_out_the_images_stage2_holds_out_for_its_check():
    from types import SimpleNamespace

    from vtscale.train.config import TrainConfig
    from vtscale.train.run import leave_out_stage2_check

    records = [record(i, [("What word is written in the image?", "cat"), ("How many?", "2")])
               for i in range(20)]
    stage1 = SimpleNamespace(items=[(r, k) for r in records for k in range(2)])
    stage2 = TrainConfig(steps=1, held_out=2, seed=3)
    leave_out_stage2_check(stage1, stage2)
    # the images stage 2 holds out of the same file (its single-turn records hold the same images)
    _, held = split_by_image(single_turns(records, kinds=None), stage2.held_out, stage2.seed)
    assert {r.image for r in held} and not {r.image for r in held} & {r.image for r, _ in stage1.items}
    assert len(stage1.items) == 2 * 20 * 3 // 5     # 3 of the 5 images stay, every question of them


def test_kind_repeats_copy_training_questions_of_those_kinds_not_the_held_out_ones():
    turns = [("What words are written in the image?", "cat hat"),
             ("Is there a red circle in the image? Please answer yes or no.", "Yes")]
    assert repeated_by_kind(["a", "bb", "a"], {"a": 3}, lambda s: s) == ["a"] * 3 + ["bb"] + ["a"] * 3

    dataset = SimpleNamespace(records=single_turns([record(i, turns) for i in range(10)], kinds=None))
    cfg = TrainConfig(steps=1, samples="question", held_out=1, kind_repeats={"words": 4})
    held = run.hold_out_images(dataset, cfg)
    run.repeat_kinds(dataset, cfg)
    kinds = [first_question_kind(r) for r in dataset.records]
    assert kinds.count("words") == 4 * kinds.count("existence") == 4 * 8   # 2 of 10 records held out
    assert len(held) == 4 and len({r.id for r in held}) == 4


@pytest.mark.parametrize("keys, message", [
    ({"kind_repeats": {"sentences": 2}}, "train.stage2: kind_repeats: sentences: not a question kind"),
    ({"kind_repeats": {"words": 0}}, "train.stage2.kind_repeats.words=0"),
    ({"kind_repeats": {"words": 2}}, "train.stage2: kind_repeats: repeats single questions"),
])
def test_bad_kind_repeats_name_the_key(keys, message):
    with pytest.raises(ConfigError, match=message):
        config_section(TrainSection, {"train": {"stage2": {"steps": 1, **keys}}}, "train")
