"""Each file format's owner module: it writes what it reads, and a bad file is one
InputError line naming the file and the record or field."""

import json

import pytest

from vtscale.data.conversations import read_llava, read_turns, write_llava
from vtscale.data.descriptions import read_descriptions, with_text, write_descriptions
from vtscale.data.dpo_pairs import DpoPair, load_pairs, write_pairs
from vtscale.data.scenes import read_scenes, write_scenes
from vtscale.errors import InputError
from vtscale.eval.predictions import predictions_path, read_predictions, write_predictions
from vtscale.eval.benchmark import Benchmark, Row

SCENE = {"id": "s0", "image": "images/s0.png", "split": "train",
         "objects": [{"kind": "star", "color": "blue", "size": "small", "cell": [0, 0], "bbox": [1, 2, 3, 4]}],
         "words": [{"text": "cat", "bbox": [5, 6, 7, 8]}]}
LLAVA = {"id": "s0", "image": "images/s0.png",
         "conversations": [{"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": "blue "}]}


# ------------------------------------------------------------------ descriptions.json
def test_descriptions_round_trip_and_empty_ones_are_skipped(tmp_path):
    records = [{"id": "s0", "image": "a.png", "description": " A star. "},
               {"id": "s1", "image": "b.png", "description": "  "},
               {"id": "s2", "image": "c.png", "description": None}]
    write_descriptions(tmp_path / "descriptions.json", records)
    usable, empty = with_text(read_descriptions(tmp_path / "descriptions.json"))
    assert [r["id"] for r in usable] == ["s0"] and empty == 2


@pytest.mark.parametrize("record, message", [
    ({"id": "s9", "image": "b.png"}, r"record 1 \(s9\) lacks field 'description'"),
    ({"id": "s9", "description": "x"}, r"record 1 \(s9\) lacks field 'image'"),
    ({"id": "s9", "image": "b.png", "description": 5}, r"record 1 \(s9\): field 'description' is not text"),
])
def test_bad_description_names_file_record_and_field(tmp_path, record, message):
    path = tmp_path / "descriptions.json"
    path.write_text(json.dumps([{"id": "s0", "image": "a.png", "description": "x"}, record]))
    with pytest.raises(InputError, match=rf"descriptions\.json: {message}"):
        read_descriptions(path)


# ------------------------------------------------------------------ conversations.json
def test_conversations_round_trip(tmp_path):
    write_llava(tmp_path / "conversations.json", [LLAVA])
    assert read_llava(tmp_path / "conversations.json") == [LLAVA]
    ((image, turns),) = read_turns(tmp_path / "conversations.json")
    assert image == "images/s0.png" and (turns[0].question, turns[0].answer) == ("What colour?", "blue")


def test_bad_conversation_names_file_and_record(tmp_path):
    path = tmp_path / "conversations.json"
    write_llava(path, [LLAVA, {"id": "s1", "conversations": LLAVA["conversations"][::-1]}, {"image": "x"}])
    with pytest.raises(InputError, match=r"conversations\.json: record 's1': messages 0-1 come from"):
        read_turns(path)
    write_llava(path, [LLAVA, {"image": "x", "conversations": LLAVA["conversations"]}])
    with pytest.raises(InputError, match=r"conversations\.json: record '#1': not an object with an 'id'"):
        read_llava(path)


# ------------------------------------------------------------------ scenes.jsonl
def test_scenes_round_trip(tmp_path):
    write_scenes(tmp_path / "scenes.jsonl", [SCENE, {**SCENE, "id": "s1", "split": "bench"}])
    assert [s["split"] for s in read_scenes(tmp_path / "scenes.jsonl", boxes=True)] == ["train", "bench"]


@pytest.mark.parametrize("scene, boxes, message", [
    ({**SCENE, "objects": None}, False, "needs 'image', 'split' and an 'objects' list"),
    ({k: v for k, v in SCENE.items() if k != "split"}, False, "needs 'image', 'split' and an 'objects' list"),
    ({**SCENE, "objects": [{"kind": "star", "bbox": [1, 2, 3, 4]}]}, False, "every object needs 'color' and 'kind'"),
    ({**SCENE, "words": [{"text": "cat", "bbox": [1, 2]}]}, True, "'words' must be a list of items with a 4-number 'bbox'"),
])
def test_bad_scene_names_file_line_and_field(tmp_path, scene, boxes, message):
    path = tmp_path / "scenes.jsonl"
    write_scenes(path, [SCENE, scene])
    with pytest.raises(InputError, match=rf"scenes\.jsonl: line 2: {message}"):
        read_scenes(path, boxes)


def test_scene_boxes_are_only_checked_on_request(tmp_path):
    path = tmp_path / "scenes.jsonl"
    write_scenes(path, [{"id": "s0", "image": "a.png", "split": "train", "objects": [{"color": "red", "kind": "star"}]}])
    assert len(read_scenes(path)) == 1
    with pytest.raises(InputError, match=r"line 1: 'objects' must be a list of items with a 4-number 'bbox'"):
        read_scenes(path, boxes=True)


# ------------------------------------------------------------------ dpo.jsonl
PAIRS = [{"system": "", "question": "What is 2+2?", "chosen": "4", "rejected": "5"},
         {"question": "Name a colour.", "chosen": "Blue.", "rejected": "Dog."}]


def test_dpo_pairs_round_trip_with_a_seeded_subset(tmp_path):
    write_pairs(tmp_path / "dpo.jsonl", PAIRS)
    assert load_pairs(str(tmp_path / "dpo.jsonl"), 10, seed=0) == [
        DpoPair("", "What is 2+2?", "4", "5"), DpoPair("", "Name a colour.", "Blue.", "Dog.")]
    assert len(load_pairs(str(tmp_path / "dpo.jsonl"), 1, seed=0)) == 1


def test_bad_dpo_pair_names_file_line_and_field(tmp_path):
    write_pairs(tmp_path / "dpo.jsonl", [PAIRS[0], {**PAIRS[1], "chosen": 3}])
    with pytest.raises(InputError, match=r"dpo\.jsonl:2: field 'chosen' missing or not a string"):
        load_pairs(str(tmp_path / "dpo.jsonl"), 10, seed=0)
    with pytest.raises(InputError, match=r"nope\.jsonl: DPO pairs file not found"):
        load_pairs(str(tmp_path / "nope.jsonl"), 10, seed=0)


# ------------------------------------------------------------------ <Bench>.preds.tsv
def bench(tmp_path) -> Benchmark:
    rows = [Row(index=str(i), image_b64="", question="q", answers=["yes"]) for i in range(3)]
    return Benchmark(name="POPE", type="pope", path=tmp_path / "POPE.tsv", rows=rows, skipped=[])


def test_predictions_round_trip_in_row_order(tmp_path):
    path = predictions_path(tmp_path, "POPE")
    write_predictions(path, ["2", "0", "1"], ["c", "a", "b"])
    assert path.name == "POPE.preds.tsv" and read_predictions(path, bench(tmp_path)) == ["a", "b", "c"]


def test_bad_predictions_name_file_and_column(tmp_path):
    path = predictions_path(tmp_path, "POPE")
    path.write_text("index\tanswer\n0\tyes\n")
    with pytest.raises(InputError, match=r"POPE\.preds\.tsv: missing column 'prediction'"):
        read_predictions(path, bench(tmp_path))


@pytest.mark.parametrize("content, message", [
    ("index\tprediction\n0\tyes\t\n1\tno\t\n2\tyes\t\n".encode(),
     r"line 2 has 3 fields, the header 2: column 3 has no name"),
    ("index\tprediction\n0\tyes\n1\tnon, pas ça\n".encode("latin-1"),
     r"line 3, column 2 \('prediction'\): byte 0xe7 is not UTF-8"),
])
def test_predictions_with_a_trailing_tab_or_not_utf8_name_line_and_column(tmp_path, content, message):
    path = predictions_path(tmp_path, "POPE")
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"POPE\.preds\.tsv: {message}"):
        read_predictions(path, bench(tmp_path))
