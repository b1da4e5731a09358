"""The demo world generator on the tiny config: determinism, held-out split, schemas,
and answers checked against the scene ground truth."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from vtscale import prompts
from vtscale.data import synth
from vtscale.data.scene_text import word_cell
from vtscale.data.synth.vocab import COLORS, KINDS, PLURALS, REGION_PHRASES, region
from vtscale.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
BENCH_FILES = {name: b["tsv"] for name, b in TINY["eval"]["benchmarks"].items()}
YES_NO = {"Yes", "No"}


def _run(out: Path, world: dict | None = None, seed: int = 0) -> Path:
    cfg = json.dumps({"seed": seed, "world": world or TINY["world"]})
    assert synth.main(["--cfg", cfg, "--out", str(out)]) == 0
    return out


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def scenes(world) -> dict[str, dict]:
    rows = [json.loads(line) for line in (world / "scenes.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in rows}


@pytest.fixture(scope="module")
def scene_by_b64(world, scenes) -> dict[str, dict]:
    return {base64.b64encode((world / s["image"]).read_bytes()).decode(): s for s in scenes.values()}


def _tsv(world: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(world / BENCH_FILES[name], sep="\t", keep_default_na=False)


def test_writes_every_declared_output(world):
    for rel in ["scenes.jsonl", "images", "descriptions.json", "conversations.json", "docs.jsonl",
                "pages", "dpo.jsonl", *BENCH_FILES.values()]:
        assert (world / rel).exists(), rel
    assert not list(world.rglob("*.tmp")) and not list(world.rglob(".*"))


def test_byte_identical_across_runs(world, tmp_path):
    again = _run(tmp_path / "again")
    assert _hashes(again) == _hashes(world)
    other_seed = _run(tmp_path / "seed1", seed=1)
    assert _hashes(other_seed)["scenes.jsonl"] != _hashes(world)["scenes.jsonl"]


def test_scenes_follow_config_and_grid(world, scenes):
    cfg = TINY["world"]
    train = [s for s in scenes.values() if s["split"] == "train"]
    assert len(train) == cfg["n_train_scenes"]
    kinds, colors = set(), set()
    for s in scenes.values():
        with Image.open(world / s["image"]) as im:
            assert im.size == (cfg["image_size"],) * 2 and im.mode == "RGB"
        assert cfg["min_objects"] <= len(s["objects"]) <= cfg["max_objects"]
        assert len(s["words"]) <= cfg["max_words"]
        cells = [tuple(o["cell"]) for o in s["objects"]]
        assert len(set(cells)) == len(cells)
        for o in s["objects"]:
            x0, y0, x1, y1 = o["bbox"]
            cell = cfg["image_size"] // 4
            assert o["cell"][1] * cell <= x0 < x1 <= (o["cell"][1] + 1) * cell
            assert o["cell"][0] * cell <= y0 < y1 <= (o["cell"][0] + 1) * cell
            kinds.add(o["kind"])
            colors.add(o["color"])
        for w in s["words"]:
            assert 0 <= w["bbox"][0] < w["bbox"][2] <= cfg["image_size"]
    assert len(kinds) == len(KINDS) and len(colors) == len(COLORS)


def test_benchmarks_are_held_out(world, scenes, scene_by_b64):
    train_ids = {s["id"] for s in scenes.values() if s["split"] == "train"}
    text_ids = {r["id"] for r in json.loads((world / "conversations.json").read_text())}
    text_ids |= {r["id"] for r in json.loads((world / "descriptions.json").read_text())}
    assert text_ids == train_ids
    train_hashes = {hashlib.sha256((world / scenes[i]["image"]).read_bytes()).digest() for i in train_ids}
    for name in BENCH_FILES:
        for b64 in _tsv(world, name)["image"]:
            raw = base64.b64decode(b64)
            assert hashlib.sha256(raw).digest() not in train_hashes
            assert scene_by_b64[b64]["split"] == "bench"
            with Image.open(io.BytesIO(raw)) as im:
                im.load()


def test_tsv_columns(world):
    required = {"index", "image", "question", "answer", "category", "l2-category"}
    for name in BENCH_FILES:
        frame = _tsv(world, name)
        assert required <= set(frame.columns), name
        assert list(frame["index"]) == list(range(len(frame)))
    assert {"A", "B", "C", "D"} <= set(_tsv(world, "DemoMCQ").columns)
    assert {"set_id", "figure_id", "question_id"} <= set(_tsv(world, "DemoHallusion").columns)


def _names(scene: dict) -> Counter:
    return Counter(f"{o['color']} {o['kind']}" for o in scene["objects"])


def test_pope_answers_match_scene(world, scene_by_b64):
    frame = _tsv(world, "DemoPOPE")
    assert len(frame) == 3 * TINY["world"]["bench"]["pope"]
    assert set(frame["category"]) == {"random", "popular", "adversarial"}
    assert set(frame["answer"]) == YES_NO and abs((frame["answer"] == "Yes").mean() - 0.5) < 0.1
    for row in frame.itertuples():
        assert not row.question.endswith(prompts.YES_NO_SUFFIX.strip())
        name = re.fullmatch(r"Is there an? (\w+ \w+) in the image\?", row.question).group(1)
        present = name in _names(scene_by_b64[row.image])
        assert row.answer == ("Yes" if present else "No")
        if row.category == "adversarial" and row.answer == "No":
            assert name.split()[1] in {o["kind"] for o in scene_by_b64[row.image]["objects"]}


def test_mme_pairs_one_yes_one_no(world):
    frame = _tsv(world, "DemoMME")
    assert len(frame) == 2 * TINY["world"]["bench"]["mme"]
    for i in range(0, len(frame), 2):
        pair = frame.iloc[i:i + 2]
        assert pair["image"].nunique() == 1 and pair["category"].nunique() == 1
        assert sorted(pair["answer"]) == ["No", "Yes"]
        assert all(q.endswith(prompts.YES_NO_SUFFIX) for q in pair["question"])
    assert frame["image"].nunique() == len(frame) // 2
    assert set(frame["category"]) <= {"existence", "count", "position", "color", "OCR"}


def test_hallusion_edited_figures_flip_answers(world, scene_by_b64):
    frame = _tsv(world, "DemoHallusion")
    assert set(frame["category"]) <= {"VS", "VD"} and set(frame["answer"]) <= YES_NO
    for (set_id, qid), group in frame.groupby(["set_id", "question_id"]):
        assert sorted(group["figure_id"]) == [0, 1]
        assert group["question"].nunique() == 1 and group["image"].nunique() == 2
        assert group["answer"].nunique() == 2  # the edit changes every answer
    for set_id, group in frame.groupby("set_id"):
        original, edited = (scene_by_b64[group[group.figure_id == f]["image"].iloc[0]] for f in (0, 1))
        assert edited["variant_of"] == original["id"]
        changed = [(a, b) for a, b in zip(original["objects"], edited["objects"]) if a != b]
        assert len(changed) == 1 and changed[0][0]["color"] != changed[0][1]["color"]


def _count_truth(question: str, scene: dict) -> str | None:
    m = re.fullmatch(r"How many (.+) are there in the image\?", question)
    if not m:
        return None
    what = m.group(1)
    kinds = {v: k for k, v in PLURALS.items()}
    if what == "shapes":
        return str(len(scene["objects"]))
    if what in kinds:
        return str(sum(o["kind"] == kinds[what] for o in scene["objects"]))
    color = what.split()[0]
    return str(sum(o["color"] == color for o in scene["objects"]))


def _mcq_truth(question: str, scene: dict) -> str:
    if (count := _count_truth(question, scene)) is not None:
        return count
    if m := re.fullmatch(r"In which part of the image is the (\w+) (\w+)\?", question):
        [obj] = [o for o in scene["objects"] if (o["color"], o["kind"]) == m.groups()]
        return region(obj["cell"])
    if m := re.fullmatch(r"What color is the (\w+) (.+)\?", question):
        place = {phrase: name for name, phrase in REGION_PHRASES.items()}[m.group(2)]
        hits = [o for o in scene["objects"] if o["kind"] == m.group(1) and region(o["cell"]) == place]
        assert len(hits) == 1, question
        return hits[0]["color"]
    if question == "What word is written in the image?":
        [word] = scene["words"]
        return word["text"]
    raise AssertionError(f"unexpected question {question!r}")


def test_mcq_correct_option_is_true(world, scene_by_b64):
    frame = _tsv(world, "DemoMCQ")
    assert len(frame) == TINY["world"]["bench"]["mcq"]
    assert set(frame["category"]) <= {"count", "color", "position", "reading"}
    for row in frame.itertuples():
        options = [row.A, row.B, row.C, row.D]
        assert row.answer in "ABCD" and len(row.answer) == 1 and len(set(map(str, options))) == 4
        if row.category != "reading" or row.question == "What word is written in the image?":
            truth = _mcq_truth(row.question, scene_by_b64[row.image])
            assert str(getattr(row, row.answer)) == truth, row.question


def test_ocrvqa_answers_are_written_words(world, scene_by_b64):
    frame = _tsv(world, "DemoOCRVQA")
    assert len(frame) == TINY["world"]["bench"]["ocrvqa"]
    for row in frame.itertuples():
        words = {w["text"] for w in scene_by_b64[row.image]["words"]}
        assert row.answer in words and row.question.startswith("What word is written")


def test_captions_have_five_distinct_references_naming_every_shape_and_word(world, scene_by_b64):
    frame = _tsv(world, "DemoCaption")
    assert len(frame) == TINY["world"]["bench"]["caption"]
    for row in frame.itertuples():
        refs, scene = json.loads(row.answer), scene_by_b64[row.image]
        assert len(refs) == 5 and len(set(refs)) == 5 and all(isinstance(r, str) and r for r in refs)
        for ref in refs:
            for o in scene["objects"]:
                assert f"{o['color']} {o['kind']} {REGION_PHRASES[region(o['cell'])]}" in ref, ref
            for w in scene["words"]:
                cell = word_cell(w["bbox"], TINY["world"]["image_size"])
                assert f'"{w["text"]}" {REGION_PHRASES[region(cell)]}' in ref, ref


def test_conversations_schema(world):
    records = json.loads((world / "conversations.json").read_text())
    formats = Counter()
    for rec in records:
        turns = rec["conversations"]
        assert 4 <= len(turns) <= 10 and len(turns) % 2 == 0
        assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
        assert turns[0]["value"].startswith("<image>\n")
        assert all("<image>" not in t["value"] for t in turns[1:])
        kinds = set()
        for q, a in zip(turns[0::2], turns[1::2]):
            q = q["value"].removeprefix("<image>\n")
            if q.endswith(prompts.YES_NO_SUFFIX):
                kinds.add("yes_no")
                assert a["value"] in YES_NO
            elif prompts.MCQ_INSTRUCTION in q:
                kinds.add("mcq")
                assert a["value"] in {"A", "B", "C", "D"}
            elif q.endswith(prompts.SHORT_ANSWER_SUFFIX):
                kinds.add("short")
                assert 1 <= len(a["value"].split()) <= 2
            else:
                assert q == prompts.CAPTION_PROMPT
                kinds.add("caption")
        assert len(kinds) >= 2
        formats.update(kinds)
    assert set(formats) == {"yes_no", "mcq", "short", "caption"}


def test_descriptions_mention_every_object_and_word(world, scenes):
    for rec in json.loads((world / "descriptions.json").read_text()):
        scene, text = scenes[rec["id"]], rec["description"]
        for o in scene["objects"]:
            assert f"{o['size']} {o['color']} {o['kind']}" in text
        for w in scene["words"]:
            assert f'"{w["text"]}"' in text


def test_documents_cover_every_filter_case(world):
    docs = [json.loads(line) for line in (world / "docs.jsonl").read_text().splitlines()]
    assert len(docs) == TINY["world"]["n_docs"]
    kinds = Counter(d["kind"] for d in docs)
    assert set(kinds) == {"normal", "short", "repeated", "offtopic", "partial"}
    assert kinds["normal"] / len(docs) >= 0.5
    for d in docs:
        assert (world / d["image"]).is_file()
        tokens = d["text"].split()
        if d["kind"] == "short":
            assert len(tokens) < 10
        elif d["kind"] == "repeated":
            tail = tokens[-256:]
            assert len(tail) == 256 and len(set(tail)) / len(tail) < 0.12
        else:
            assert len(tokens) >= 40 and len(set(tokens[-256:])) / len(tokens[-256:]) >= 0.12


def test_dpo_pairs(world):
    rows = [json.loads(line) for line in (world / "dpo.jsonl").read_text().splitlines()]
    assert len(rows) == TINY["world"]["n_dpo"]
    for r in rows:
        assert set(r) == {"system", "question", "chosen", "rejected"}
        assert r["chosen"] != r["rejected"]
        assert 20 <= len(r["chosen"].split()) <= 60 and 20 <= len(r["rejected"].split()) <= 60
        assert r["question"].startswith("A picture shows ")


@pytest.mark.parametrize("world_cfg, message", [
    ({**TINY["world"], "colour": 1}, "world.colour"),
    ({**TINY["world"], "max_objects": 15, "max_words": 3}, "grid"),
    ({**TINY["world"], "n_docs": "ten"}, "world.n_docs"),
    ({**TINY["world"], "aspects": ["existence", "size"]}, "world.aspects='size': expected one of existence"),
    ({**TINY["world"], "aspects": ["existence", "count"]}, "world.aspects must include 'reading'"),
    ({**TINY["world"], "turns": [3, 2]}, "world.turns"),
])
def test_bad_config_names_the_key(tmp_path, world_cfg, message):
    with pytest.raises(ConfigError, match=message):
        _run(tmp_path / "bad", world=world_cfg)


def test_aspects_and_turns_shape_conversations_and_benchmarks(tmp_path):
    world_cfg = {**TINY["world"], "aspects": ["existence", "count", "reading"], "turns": [4, 4]}
    world = _run(tmp_path / "narrow", world=world_cfg)
    records = json.loads((world / "conversations.json").read_text())
    assert all(len(r["conversations"]) in (6, 8) for r in records)   # 4 turns, rarely 3 on retries
    questions = [m["value"] for r in records for m in r["conversations"][::2]]
    assert not any(q.startswith(("Where is", "What color", "In which part")) for q in questions)
    assert set(pd.read_csv(world / BENCH_FILES["DemoMME"], sep="\t")["category"]) <= {"existence", "count", "OCR"}
    assert set(pd.read_csv(world / BENCH_FILES["DemoMCQ"], sep="\t")["category"]) <= {"count", "reading"}


def test_existence_claims_ask_about_each_shape_and_as_many_absent_ones():
    import numpy as np

    from vtscale.data.question_kinds import question_kind
    from vtscale.data.synth.config import AddedTurns
    from vtscale.data.synth.language import conversation, existence_claims
    from vtscale.data.synth.scene import Scene, SceneObject

    shapes = [("red", "circle", (0, 0)), ("red", "circle", (1, 1)), ("blue", "star", (2, 2))]
    scene = Scene("s", "train", [SceneObject(k, c, "small", cell, (0, 0), 5) for c, k, cell in shapes], [])
    claims = existence_claims(scene, np.random.default_rng(0), per_answer=6)
    assert {q for q, a in claims if a == "Yes"} == {
        "Is there a red circle in the image? Please answer yes or no.",
        "Is there a blue star in the image? Please answer yes or no."}
    absent = [q for q, a in claims if a == "No"]
    assert len(absent) == 2 and not any("red circle" in q or "blue star" in q for q in absent)
    assert {question_kind(q) for q, _ in claims} == {"existence"}
    natural = conversation(scene, np.random.default_rng(1), turns_range=(2, 2))
    turns = conversation(scene, np.random.default_rng(1), turns_range=(2, 2), added=AddedTurns(existence_claims=6))
    assert turns[:len(natural)] == natural                  # the claims come after the conversation
    questions = [m["value"].removeprefix("<image>\n") for m in turns[::2]]
    assert len(questions) == len(set(questions)) >= 2 + 2   # none asked twice
    capped = existence_claims(scene, np.random.default_rng(0), per_answer=1)
    assert sorted(a for _, a in capped) == ["No", "Yes"]


def test_read_every_word_asks_each_word_where_it_is_once():
    import numpy as np

    from vtscale.data.question_kinds import question_kind
    from vtscale.data.synth.config import AddedTurns
    from vtscale.data.synth.language import conversation
    from vtscale.data.synth.scene import Scene, SceneObject, SceneWord

    shape = SceneObject("circle", "red", "small", (1, 1), (0, 0), 5)
    scene = Scene("s", "train", [shape], [SceneWord("cat", (0, 0), (0, 0)), SceneWord("sun", (3, 3), (0, 0))])
    natural = conversation(scene, np.random.default_rng(1), turns_range=(2, 2))
    turns = conversation(scene, np.random.default_rng(1), turns_range=(2, 2), added=AddedTurns(read_every_word=True))
    assert turns[:len(natural)] == natural                  # the reading questions come after it
    added = [(q["value"], a["value"]) for q, a in zip(turns[len(natural)::2], turns[len(natural) + 1::2])]
    asked = {q.removeprefix("<image>\n") for q in (m["value"] for m in natural[::2])}
    expected = [("What word is written in the top left?\nAnswer the question using a single word or phrase.", "cat"),
                ("What word is written in the bottom right?\nAnswer the question using a single word or phrase.", "sun")]
    assert added == [turn for turn in expected if turn[0] not in asked]
    assert {question_kind(q) for q, _ in expected} == {"word"}
    alone = Scene("t", "train", [shape], [SceneWord("cat", (0, 0), (0, 0))])
    only = conversation(alone, np.random.default_rng(1), turns_range=(2, 2), added=AddedTurns(read_every_word=True))
    assert ("What word is written in the image?\nAnswer the question using a single word or phrase."
            in [m["value"].removeprefix("<image>\n") for m in only[::2]])


def test_yes_no_pairs_ask_one_fact_per_aspect_true_and_false():
    import numpy as np

    from vtscale.data.question_kinds import question_kind
    from vtscale.data.synth.config import AddedTurns
    from vtscale.data.synth.language import conversation, yes_no_pairs
    from vtscale.data.synth.scene import Scene, SceneObject, SceneWord

    shapes = [("red", "circle", (0, 0)), ("blue", "star", (2, 2)), ("green", "square", (3, 1))]
    scene = Scene("s", "train", [SceneObject(k, c, "small", cell, (0, 0), 5) for c, k, cell in shapes],
                  [SceneWord("cat", (0, 3), (0, 0))])
    pairs = yes_no_pairs(scene, np.random.default_rng(0), ["count", "color", "reading"])
    assert [question_kind(q) for q, _ in pairs] == ["count_yn"] * 2 + ["color_yn"] * 2 + ["word_yn"] * 2
    assert [a for _, a in pairs] == ["Yes", "No"] * 3
    assert len({q for q, _ in pairs}) == 6
    assert 'Is the word "cat"' in pairs[4][0]
    natural = conversation(scene, np.random.default_rng(1), turns_range=(2, 2))
    turns = conversation(scene, np.random.default_rng(1), turns_range=(2, 2), added=AddedTurns(yes_no_pairs=("color",)))
    assert turns[:len(natural)] == natural                  # the pairs come after the conversation
    added = [m["value"] for m in turns[len(natural)::2]]
    assert 1 <= len(added) <= 2 and {question_kind(q) for q in added} == {"color_yn"}


def _scene_with_words(*words):
    from vtscale.data.synth.scene import Scene, SceneObject, SceneWord

    shapes = [SceneObject("circle", "red", "small", (0, 0), (0, 0), 5),
              SceneObject("star", "blue", "large", (2, 2), (0, 0), 9)]
    return Scene("s", "train", shapes, [SceneWord(t, cell, (0, 0)) for t, cell in words])


def test_all_words_are_read_in_reading_order_and_asked_once():
    import numpy as np

    from vtscale.data.question_kinds import question_kind
    from vtscale.data.synth import facts
    from vtscale.data.synth.config import AddedTurns
    from vtscale.data.synth.language import conversation

    scene = _scene_with_words(("cat", (0, 3)), ("sun", (3, 0)))
    fact = facts.all_words(scene)
    assert (fact.question, fact.answer) == ("What words are written in the image?", "cat sun")
    assert fact.answer not in fact.distractors[:3] and "sun cat" in fact.distractors
    assert facts.all_words(_scene_with_words()) is None
    assert question_kind(fact.question) == "words"
    natural = conversation(scene, np.random.default_rng(1), turns_range=(2, 2))
    turns = conversation(scene, np.random.default_rng(1), turns_range=(2, 2), added=AddedTurns(read_all_words=True))
    assert turns[:len(natural)] == natural
    added = [(q["value"], a["value"]) for q, a in zip(turns[len(natural)::2], turns[len(natural) + 1::2])]
    assert added == [(prompts.short_answer("What words are written in the image?"), "cat sun")]


def test_caption_every_scene_adds_the_detailed_caption_unless_asked():
    import numpy as np

    from vtscale.data.synth.config import AddedTurns
    from vtscale.data.synth.language import captions, conversation

    scene = _scene_with_words(("cat", (0, 3)))
    assert captions(scene)[0] == ('A red circle in the top left and a blue star in the center, '
                                  'with "cat" in the top right.')
    for seed in range(20):
        natural = conversation(scene, np.random.default_rng(seed), turns_range=(2, 2))
        turns = conversation(scene, np.random.default_rng(seed), turns_range=(2, 2), added=AddedTurns(caption_every_scene=True))
        asked = [q["value"].removeprefix("<image>\n") for q in turns[::2]]
        assert asked.count(prompts.CAPTION_PROMPT) == 1 and turns[:len(natural)] == natural


def test_ocrvqa_asks_all_words_when_the_world_reads_them(tmp_path):
    world = {**TINY["world"], "read_all_words": True}
    frame = pd.read_csv(_run(tmp_path, world) / BENCH_FILES["DemoOCRVQA"], sep="\t", keep_default_na=False)
    scenes = {base64.b64encode((tmp_path / s["image"]).read_bytes()).decode(): s
              for s in map(json.loads, (tmp_path / "scenes.jsonl").read_text().splitlines())}
    for row in frame.itertuples():
        words = scenes[row.image]["words"]
        assert row.question == "What words are written in the image?"
        in_order = sorted(words, key=lambda w: word_cell(w["bbox"], world["image_size"]))
        assert row.answer == " ".join(w["text"] for w in in_order)
        assert row.category == ("1 word" if len(words) == 1 else f"{len(words)} words")
