"""TSV reading: required columns, counted skips, image references, answer lists, prompts."""

from __future__ import annotations

import base64
import io
import json

import pandas as pd
import pytest
from PIL import Image

from vtscale.errors import InputError
from vtscale.eval import prompts
from vtscale.eval.predictions import predictions_in_row_order
from vtscale.eval.tsv import detect_type, read_benchmark


def png_b64(colour=(255, 0, 0)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def write_tsv(path, rows):
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def test_missing_column_names_file_and_column(tmp_path):
    path = write_tsv(tmp_path / "POPE.tsv", [{"index": 0, "image": png_b64(), "question": "q?"}])
    with pytest.raises(InputError, match=r"POPE\.tsv: missing required column 'answer'"):
        read_benchmark(path, "POPE", "pope")


def test_mcq_needs_option_columns(tmp_path):
    path = write_tsv(tmp_path / "M.tsv", [{"index": 0, "image": png_b64(), "question": "q", "answer": "A", "A": "x"}])
    with pytest.raises(InputError, match=r"M\.tsv: missing required column 'B'"):
        read_benchmark(path, "M", "mcq")


def test_undecodable_image_and_bad_answers_are_counted_skips(tmp_path):
    good = png_b64()
    rows = [{"index": 0, "image": good, "question": "q", "answer": "yes"},
            {"index": 1, "image": base64.b64encode(b"garbage" * 20).decode(), "question": "q", "answer": "No"},
            {"index": 2, "image": "0", "question": "q", "answer": "No"},          # reference to row 0
            {"index": 3, "image": "99", "question": "q", "answer": "No"},         # dangling reference
            {"index": 4, "image": good, "question": "q", "answer": "maybe"}]
    bench = read_benchmark(write_tsv(tmp_path / "Y.tsv", rows), "Y", "yorn")
    assert [r.index for r in bench.rows] == ["0", "2"]
    assert bench.rows[0].answer == "Yes"                                      # normalised case
    assert bench.rows[0].image_key == bench.rows[1].image_key                 # same image
    assert bench.rows[1].load_image().size == (8, 8)
    assert [s["index"] for s in bench.skipped_list()] == ["1", "3", "4"]
    assert bench.skipped_list()[0]["reason"].startswith("undecodable image")
    assert "not Yes or No" in bench.skipped_list()[2]["reason"]
    assert bench.rows_summary() == {
        "read": 5, "scored": 2, "skipped": 3,
        "skip_reasons": {"image reference": 1, "undecodable image": 1, "bad answer": 1}}


def test_mcq_answer_outside_options_is_skipped(tmp_path):
    rows = [{"index": 0, "image": png_b64(), "question": "q", "A": "x", "B": "y", "C": "", "answer": "C"},
            {"index": 1, "image": png_b64(), "question": "q", "A": "x", "B": "y", "C": "", "answer": "B",
             "hint": "look"}]
    bench = read_benchmark(write_tsv(tmp_path / "M.tsv", rows), "M", "mcq")
    assert bench.skipped_list() == [{"index": "0", "reason": "answer 'C' is not one of the options AB"}]
    assert bench.rows_summary()["skip_reasons"] == {"option mismatch": 1}
    assert bench.rows[0].options == {"A": "x", "B": "y"}
    assert prompts.build_prompt(bench.rows[0], "mcq") == (
        "Hint: look\nQuestion: q\nOptions:\nA. x\nB. y\n"
        "Please select the correct answer from the options above. \n")


def test_caption_references_json_or_python_list(tmp_path):
    rows = [{"index": 0, "image": png_b64(), "answer": json.dumps(["a b", "c d"])},
            {"index": 1, "image": png_b64(), "answer": "['x y', \"z's\"]"},
            {"index": 2, "image": png_b64(), "answer": "not a list"}]
    bench = read_benchmark(write_tsv(tmp_path / "C.tsv", rows), "C")
    assert bench.type == "caption"
    assert [r.answers for r in bench.rows] == [["a b", "c d"], ["x y", "z's"]]
    assert bench.skipped_list()[0]["index"] == "2"
    assert prompts.build_prompt(bench.rows[0], "caption").startswith("Please describe this image in general.")


def test_hallusion_ids_from_index_when_columns_absent(tmp_path):
    rows = [{"index": "VD_ocr_0_3_1_2", "image": png_b64(), "question": "q", "answer": "Yes"}]
    bench = read_benchmark(write_tsv(tmp_path / "H.tsv", rows), "H", "hallusionbench")
    assert bench.rows[0].extra == {"set_id": "3", "figure_id": "1", "question_id": "2"}
    bad = write_tsv(tmp_path / "H2.tsv", [{"index": 5, "image": png_b64(), "question": "q", "answer": "No"}])
    with pytest.raises(InputError, match="missing required column 'set_id'"):
        read_benchmark(bad, "H2", "hallusionbench")


def test_detect_type_and_limit(tmp_path):
    assert detect_type(["index", "image", "question", "answer", "A", "B"]) == "mcq"
    assert detect_type(["index", "image", "question", "answer", "set_id", "figure_id", "question_id"]) == "hallusionbench"
    rows = [{"index": i, "image": png_b64(), "question": "q", "answer": "a"} for i in range(5)]
    assert len(read_benchmark(write_tsv(tmp_path / "V.tsv", rows), "V", "ocrvqa", limit=2).rows) == 2


def broken_image_tsv(path):
    rows = [{"index": 0, "image": png_b64(), "question": "q", "answer": "Yes"},
            {"index": 17, "image": base64.b64encode(b"not a picture" * 10).decode(), "question": "q",
             "answer": "No"}]
    return write_tsv(path, rows)


def test_broken_image_is_skipped_and_counted_unless_strict(tmp_path):
    path = broken_image_tsv(tmp_path / "POPE.tsv")
    bench = read_benchmark(path, "POPE", "pope")
    assert [r.index for r in bench.rows] == ["0"]
    assert bench.skipped_list() == [{"index": "17", "reason": "undecodable image (UnidentifiedImageError)"}]
    assert bench.rows_summary() == {"read": 2, "scored": 1, "skipped": 1,
                                    "skip_reasons": {"undecodable image": 1}}
    with pytest.raises(InputError) as err:
        read_benchmark(path, "POPE", "pope", strict=True)
    assert str(err.value) == (f"{path}: row index 17: field 'image': undecodable image "
                              "(UnidentifiedImageError) (eval.strict is on)")


def test_short_row_and_empty_fields_are_skipped_naming_the_field(tmp_path):
    header = "index\timage\tquestion\tanswer\n"
    good = png_b64()
    path = tmp_path / "Y.tsv"
    path.write_text(header + f"0\t{good}\tq\tYes\n"
                    + f"1\t{good}\tq\n"                 # short row: no answer field at all
                    + f"2\t{good}\tq\t \n"             # blank answer
                    + "3\t\tq\tNo\n"                    # empty image
                    + f"4\t{good}\n")                    # question and answer cut off
    bench = read_benchmark(path, "Y", "yorn")
    assert [r.index for r in bench.rows] == ["0"]
    assert bench.skipped_list() == [{"index": "1", "reason": "missing field 'answer'"},
                                    {"index": "2", "reason": "missing field 'answer'"},
                                    {"index": "3", "reason": "missing field 'image'"},
                                    {"index": "4", "reason": "missing field 'question'"}]
    assert bench.rows_summary() == {"read": 5, "scored": 1, "skipped": 4,
                                    "skip_reasons": {"missing field": 4}}
    with pytest.raises(InputError, match=r"Y\.tsv: row index 1: field 'answer': missing field 'answer'"):
        read_benchmark(path, "Y", "yorn", strict=True)


def test_row_with_too_many_fields_names_the_file(tmp_path):
    path = tmp_path / "Y.tsv"
    path.write_text(f"index\timage\tquestion\tanswer\n0\t{png_b64()}\tq\tYes\n1\ta\tb\tc\td\te\n")
    with pytest.raises(InputError, match=r"Y\.tsv: not a readable TSV \(.*line 3"):
        read_benchmark(path, "Y", "yorn")


def test_strict_reading_of_a_clean_file_keeps_every_row(tmp_path):
    rows = [{"index": i, "image": png_b64(), "question": "q", "answer": "No"} for i in range(3)]
    bench = read_benchmark(write_tsv(tmp_path / "P.tsv", rows), "P", "pope", strict=True)
    assert bench.rows_summary() == {"read": 3, "scored": 3, "skipped": 0, "skip_reasons": {}}


def test_predictions_must_match_the_benchmark_rows(tmp_path):
    bench = read_benchmark(broken_image_tsv(tmp_path / "POPE.tsv"), "POPE", "pope")
    preds = tmp_path / "POPE.preds.tsv"
    assert predictions_in_row_order(preds, ["0"], ["yes"], bench) == ["yes"]
    assert predictions_in_row_order(preds, ["17", "0"], ["no", "yes"], bench) == ["yes"]  # skipped row
    with pytest.raises(InputError, match=r"POPE\.preds\.tsv: no prediction for index 0 of "):
        predictions_in_row_order(preds, ["17"], ["no"], bench)
    with pytest.raises(InputError, match=r"POPE\.preds\.tsv: prediction for index 5, which is not a row"):
        predictions_in_row_order(preds, ["0", "5", "6"], ["yes", "no", "no"], bench)
    with pytest.raises(InputError, match=r"POPE\.preds\.tsv: index 0 has more than one prediction"):
        predictions_in_row_order(preds, ["0", "0"], ["yes", "no"], bench)


@pytest.mark.parametrize("type_,question,expected", [
    ("pope", "Is there a cat?", "Is there a cat? Please answer yes or no."),
    ("mme", "Is there a cat? Please answer yes or no.", "Is there a cat? Please answer yes or no."),
    ("textvqa", "What is written?", "What is written?\nAnswer the question using a single word or phrase."),
    ("ocrbench", "What is written?", "What is written?"),
])
def test_prompts_per_type(type_, question, expected):
    from vtscale.eval.benchmark import Row
    assert prompts.build_prompt(Row("0", "", question, ["x"]), type_) == expected


@pytest.mark.parametrize("type_,question", [
    ("pope", "Is there a cat in the image?"),
    ("hallusionbench", "Is the left line longer?"),
    ("mme", "Is there a cat? Please answer yes or no."),
])
def test_pinned_rules_send_yes_no_questions_bare(type_, question):
    """VLMEvalKit 0ff0c3e sends a yes/no benchmark's question as the TSV holds it."""
    from vtscale.eval.rules import PINNED
    from vtscale.eval.benchmark import Row
    assert prompts.build_prompt(Row("0", "", question, ["Yes"]), type_, PINNED) == question


def test_pinned_rules_keep_the_other_prompts():
    from vtscale.eval.rules import LATEST, PINNED
    from vtscale.eval.benchmark import Row
    mcq = Row("0", "", "What colour?", ["A"], options={"A": "red", "B": "blue"}, hint="Look left")
    for type_, row in [("mcq", mcq), ("textvqa", Row("0", "", "What is written?", ["x"])),
                       ("ocrbench", Row("0", "", "What is written?", ["x"]))]:
        assert prompts.build_prompt(row, type_, PINNED) == prompts.build_prompt(row, type_, LATEST)


def test_max_new_tokens_per_type_and_override():
    assert [prompts.max_new_tokens(t) for t in ("pope", "mcq", "caption", "textvqa", "ocrvqa", "chartqa", "ocrbench")] \
        == [32, 32, 32, 10, 100, 100, 512]
    assert prompts.max_new_tokens("caption", {"caption": 6}) == 6


def test_missing_cells_are_what_read_csv_reads_as_missing():
    from pandas._libs.parsers import STR_NA_VALUES   # pandas' own list, private: checked here only
    from vtscale.eval.tsv import MISSING_CELLS

    assert MISSING_CELLS == frozenset(STR_NA_VALUES)
    cells = sorted(MISSING_CELLS - {""}) + ["none", "N.A.", "0"]
    frame = pd.read_csv(io.StringIO("a\n" + "\n".join(cells) + "\n"), dtype=str)
    read_missing = {cell for cell, value in zip(cells, frame["a"]) if pd.isna(value)}
    assert read_missing == MISSING_CELLS - {""}
