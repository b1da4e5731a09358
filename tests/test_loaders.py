"""Paper raw-format loaders, each on a small fixture written in the real format."""

import json

import pytest

from vtscale.data import loaders
from vtscale.errors import InputError


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------ LLaVA v1.5 mix665k
LLAVA = [
    {"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
     "conversations": [{"from": "human", "value": "What are the colors of the bus in the image?\n<image>"},
                       {"from": "gpt", "value": "The bus in the image is white and red."},
                       {"from": "human", "value": "What feature can be seen on the back of the bus?"},
                       {"from": "gpt", "value": "The back of the bus features an advertisement."}]},
    {"id": "i6IyJda_0", "model": "",
     "conversations": [{"from": "human", "value": "Summarise this."}, {"from": "gpt", "value": "Sure."}]},
]


def test_llava_mix665k(tmp_path):
    records = loaders.load_llava(write_json(tmp_path / "llava_v1_5_mix665k.json", LLAVA))
    assert [r["id"] for r in records] == ["000000033471"]          # text-only ShareGPT left out
    assert records[0]["image"] == "coco/train2017/000000033471.jpg"
    assert len(records[0]["conversations"]) == 4
    with_text = loaders.load_llava(tmp_path / "llava_v1_5_mix665k.json", keep_text_only=True)
    assert len(with_text) == 2


def test_llava_bad_record_names_file_and_record(tmp_path):
    bad = LLAVA[:1] + [{"id": "broken", "image": "x.jpg", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}]
    with pytest.raises(InputError, match=r"mix\.json: record 'broken': messages 0-1 come from"):
        loaders.load_llava(write_json(tmp_path / "mix.json", bad))


# ------------------------------------------------------------------ BAAI SVIT
SVIT_DETAIL = [
    {"image_id": 2376311, "conversations": [{"content": [
        {"from": "user", "value": "Can you describe the image in detail?"},
        {"from": "gpt", "value": "The image shows a busy street with two buses. "}]}]},
    {"image_id": 107899, "conversations": [{"content": [
        {"from": "user", "value": "Describe the image."},
        {"from": "gpt", "value": "A kitchen with a white fridge."}]}]},
]


def test_svit_detail_descriptions(tmp_path):
    (tmp_path / "vg" / "VG_100K_2").mkdir(parents=True)
    (tmp_path / "vg" / "VG_100K_2" / "107899.jpg").write_bytes(b"")
    records = loaders.load_svit_descriptions(write_json(tmp_path / "detail_description.json", SVIT_DETAIL),
                                             image_root=tmp_path)
    assert records == [
        {"id": "svit_2376311", "image": "vg/VG_100K/2376311.jpg",
         "description": "The image shows a busy street with two buses."},
        {"id": "svit_107899", "image": "vg/VG_100K_2/107899.jpg", "description": "A kitchen with a white fridge."},
    ]


def test_svit_plain_detail_description_field(tmp_path):
    path = write_json(tmp_path / "d.json", [{"image_id": 5, "detail_description": "Two cats."}])
    assert loaders.load_svit_descriptions(path)[0]["description"] == "Two cats."


def test_svit_conversations_become_llava(tmp_path):
    conv = [{"image_id": 1, "conversations": [
        {"content": [{"from": "user", "value": "What is on the table?"}, {"from": "gpt", "value": "A cup."},
                     {"from": "user", "value": "What color?"}, {"from": "gpt", "value": "Blue."}]},
        {"content": [{"from": "user", "value": "Is it day?"}, {"from": "gpt", "value": "Yes."}]}]}]
    records = loaders.load_svit_conversations(write_json(tmp_path / "conversation.json", conv))
    assert [r["id"] for r in records] == ["svit_1_0", "svit_1_1"]
    turns = records[0]["conversations"]
    assert turns[0] == {"from": "human", "value": "<image>\nWhat is on the table?"}
    assert [t["from"] for t in turns] == ["human", "gpt", "human", "gpt"]
    assert "<image>" not in turns[2]["value"]


def test_svit_bad_record(tmp_path):
    bad = [{"image_id": 9, "conversations": [{"content": [{"from": "robot", "value": "hi"}]}]}]
    with pytest.raises(InputError, match=r"d\.json: record image_id=9: content item 0"):
        loaders.load_svit_descriptions(write_json(tmp_path / "d.json", bad))
    with pytest.raises(InputError, match=r"record #0 lacks 'image_id'"):
        loaders.load_svit_descriptions(write_json(tmp_path / "d.json", [{"id": 1}]))


# ------------------------------------------------------------------ mPLUG DocStruct4M / DocDownstream
MPLUG = [
    {"image": ["./imgs/DUE_Benchmark/DocVQA/pngs/xnbl0037_1.png"],
     "messages": [{"role": "user", "content": "<|image|>What is the date mentioned?"},
                  {"role": "assistant", "content": "March 2, 1998"}],
     "task_name": "qa_sft", "dataset_name": "DocVQA"},
    {"image": ["./imgs/a.png", "./imgs/b.png"],
     "messages": [{"role": "user", "content": "<|image|><|image|>Compare."}, {"role": "assistant", "content": "Same."}],
     "task_name": "qa_sft", "dataset_name": "Multi"},
    {"image": ["./imgs/CCpdf/page_7.jpg"],
     "messages": [{"role": "user", "content": "<|image|>Recognize text in the image."},
                  {"role": "assistant", "content": "Introduction\nThe results show a clear trend."}],
     "task_name": "struct_aware_parse", "dataset_name": "CCpdf"},
]


def test_mplug_conversations(tmp_path):
    records = loaders.load_mplug_conversations(write_jsonl(tmp_path / "train.jsonl", MPLUG))
    assert [r["id"] for r in records] == ["train_1", "train_3"]      # multi-image record left out
    assert records[0]["image"] == "imgs/DUE_Benchmark/DocVQA/pngs/xnbl0037_1.png"
    assert records[0]["conversations"] == [
        {"from": "human", "value": "<image>\nWhat is the date mentioned?"},
        {"from": "gpt", "value": "March 2, 1998"}]


def test_mplug_docs(tmp_path):
    docs = loaders.load_mplug_docs(write_jsonl(tmp_path / "struct_aware_parse.jsonl", MPLUG[2:]))
    assert docs == [{"id": "struct_aware_parse_1", "image": "imgs/CCpdf/page_7.jpg",
                     "text": "Introduction\nThe results show a clear trend.", "kind": "struct_aware_parse"}]


def test_mplug_bad_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(MPLUG[0]) + "\n" + json.dumps({"image": ["x.png"], "messages": [{"role": "bot", "content": "x"}]}) + "\n")
    with pytest.raises(InputError, match=r"train\.jsonl: line 2: message 0"):
        loaders.load_mplug_conversations(path)
    path.write_text("{not json\n")
    with pytest.raises(InputError, match=r"train\.jsonl: line 1 is not valid JSON"):
        loaders.load_mplug_docs(path)


def test_mplug_docs_take_kind_and_text_from_the_page_tags(tmp_path):
    pages = [
        {"image": ["./imgs/CCpdf/page_1.jpg"],
         "messages": [{"role": "user", "content": "<|image|>Recognize text in the image."},
                      {"role": "assistant", "content": "<doc> Introduction\nWe study scaling. </doc>"}],
         "task_name": "struct_aware_parse", "dataset_name": "CCpdf"},
        {"image": ["./imgs/ChartQA/c.png"],
         "messages": [{"role": "user", "content": "<|image|>Convert the chart to a table."},
                      {"role": "assistant", "content": "<md>| year | sales |\n| 2020 | 4 |</md>"}],
         "task_name": "struct_aware_parse", "dataset_name": "ChartQA"},
    ]
    docs = loaders.load_mplug_docs(write_jsonl(tmp_path / "struct_aware_parse.jsonl", pages + MPLUG[2:]))
    assert [(d["kind"], d["text"]) for d in docs] == [
        ("doc", "Introduction\nWe study scaling."),
        ("md", "| year | sales |\n| 2020 | 4 |"),
        ("struct_aware_parse", "Introduction\nThe results show a clear trend.")]   # no tag: as before


# ------------------------------------------------------------------ the authors' rewrites
def png(path, size):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)


def test_llava_box_moves_from_padded_square_to_the_image(tmp_path):
    png(tmp_path / "vg" / "wide.png", (300, 200))        # padded to 300x300: 50 px above and below
    record = {"id": "1", "image": "vg/wide.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat is in [0.2, 0.25, 0.5, 0.75]?"},
        {"from": "gpt", "value": "A dog at [0.2,0.1, 0.5, 0.9]."}]}
    turns = loaders.with_bbox_tags([record], padded_images=tmp_path)[0]["conversations"]
    # y: (0.25 * 300 - 50) / 200 = 0.125 -> 124; (0.75 * 300 - 50) / 200 = 0.875 -> 874
    assert turns[0]["value"] == "<image>\nWhat is in <bbox>199,124,499,874</bbox>?"
    assert turns[1]["value"] == "A dog at <bbox>199,0,499,999</bbox>."            # clipped to the image
    assert loaders.bbox_tags("[0.2, 0.25, 0.5, 0.75]") == "<bbox>199,249,499,749</bbox>"  # unpadded input
    png(tmp_path / "vg" / "tall.png", (120, 200))
    tall = {**record, "image": "vg/tall.png",
            "conversations": [{"from": "human", "value": "[0.3, 0.1, 0.6, 0.9]"}, {"from": "gpt", "value": "ok"}]}
    assert loaders.with_bbox_tags([tall], tmp_path)[0]["conversations"][0]["value"] == "<bbox>166,99,666,899</bbox>"


def test_llava_box_left_alone_when_the_image_cannot_be_read(tmp_path):
    record = {"id": "1", "image": "missing.png", "conversations": [
        {"from": "human", "value": "[0.1, 0.1, 0.2, 0.2]"}, {"from": "gpt", "value": "ok"}]}
    assert loaders.with_bbox_tags([record], padded_images=tmp_path) == [record]
    assert loaders.bbox_tags("see [1.2.3, 0.1, 0.2, 0.3]") == "see [1.2.3, 0.1, 0.2, 0.3]"


def test_reference_ocr_records_dropped_and_long_conversations_capped():
    ocr = {"id": "ocr", "image": "textcaps/1.jpg", "conversations": [
        {"from": "human", "value": "<image>\nProvide a one-sentence caption.\nReference OCR token: STOP, 25"},
        {"from": "gpt", "value": "A stop sign."}]}
    long = {"id": "long", "image": "vg/2.jpg", "conversations": [
        {"from": "human" if i % 2 == 0 else "gpt", "value": f"m{i}"} for i in range(60)]}
    kept = loaders.without_reference_ocr([ocr, long], "mix.json")
    assert [r["id"] for r in kept] == ["long"]
    capped = loaders.capped(kept, 48)[0]["conversations"]
    assert len(capped) == 48 and capped[-1] == {"from": "gpt", "value": "m47"}
    assert len(long["conversations"]) == 60                     # the input is not changed


def test_records_with_a_first_message_under_the_minimum_are_left_out():
    records = [{"id": name, "image": "vg/1.jpg", "conversations": [
        {"from": "human", "value": first}, {"from": "gpt", "value": "yes"}]}
        for name, first in (("short", "Hi?"), ("four", "Why?"), ("long", "What is on the table?"))]
    assert [r["id"] for r in loaders.with_first_question_of(records, 4, "svit.json")] == ["four", "long"]
    assert len(loaders.with_first_question_of(records, 0, "svit.json")) == 3


def test_pack_rounds_halves_until_at_most_max_rounds():
    turns = [{"from": "human" if i % 2 == 0 else "gpt", "value": str(i)} for i in range(46)]   # 23 rounds
    packed = loaders.pack_rounds(turns, 10)
    assert [len(p) // 2 for p in packed] == [5, 5, 5, 5, 3]      # 23 -> 11 -> 5
    assert [t for p in packed for t in p] == turns
    assert [len(p) // 2 for p in loaders.pack_rounds(turns[:24], 10)] == [6, 6]
    assert [len(p) // 2 for p in loaders.pack_rounds(turns[:20], 10)] == [10]


def test_svit_referring_qa_packed_with_bbox_tags(tmp_path):
    conversations = [{"content": [{"from": "user", "value": f"What is the object [0.1, 0.2, 0.3, 0.{k}]?"},
                                  {"from": "gpt", "value": f"A cup [0.5, 0.5, 0.6, 0.{k}]."}]} for k in range(1, 10)]
    conversations.append({"content": [{"from": "user", "value": "What color is it?"}, {"from": "gpt", "value": "Blue."},
                                      {"from": "user", "value": "Is it full?"}, {"from": "gpt", "value": "No."}]})
    path = write_json(tmp_path / "referring_qa.json", [{"image_id": 42, "conversations": conversations}])
    assert len(loaders.load_svit_conversations(path)) == 10                 # one record per conversation
    assert [len(r["conversations"]) // 2 for r in loaders.load_svit_conversations(path, max_rounds=11)] == [11]
    records = loaders.with_bbox_tags(loaders.load_svit_conversations(path, max_rounds=10))
    assert [r["id"] for r in records] == ["svit_42_0", "svit_42_1", "svit_42_2"]
    assert [len(r["conversations"]) // 2 for r in records] == [5, 5, 1]     # 11 rounds -> 5
    first = records[0]["conversations"]
    assert first[0]["value"] == "<image>\nWhat is the object <bbox>99,199,299,99</bbox>?"
    assert first[1]["value"] == "A cup <bbox>499,499,599,99</bbox>."
    assert records[1]["conversations"][0]["value"].startswith("<image>\n")
