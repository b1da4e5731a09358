"""``vtscale score`` end to end on small predictions TSVs: the scores JSON, the per-row
TSV and the one-line errors."""

import json

import pandas as pd
import pytest

from vtscale import cli
from vtscale.errors import InputError
from vtscale.eval.tsv import read_benchmark

SIGNS = {"A": "The stop sign.", "B": "The school zone sign."}
MCQ_ROWS = [
    {"index": 1, "question": "Which is closer?", "answer": "A", **SIGNS, "category": "depth",
     "l2-category": "spatial", "prediction": "A. The stop sign is closer to the camera than the sign"},
    {"index": 2, "question": "Which is farther?", "answer": "B", **SIGNS, "category": "depth",
     "l2-category": "spatial", "prediction": "B"},
    {"index": 3, "question": "Which is red?", "answer": "A", **SIGNS, "category": "colour",
     "l2-category": "attribute", "prediction": "Z"},
]


def write_tsv(path, rows):
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def run_score(path, type_, tmp_path, *extra):
    out, rows = tmp_path / "scores.json", tmp_path / "rows.tsv"
    code = cli.main(["score", str(path), "--type", type_, "--out", str(out), "--rows", str(rows), *extra])
    return code, out, rows


def read_rows(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("rules, overall, extracted", [
    ("vlmevalkit-0ff0c3e", 200 / 3, ["A", "B", "Z"]),
    ("vlmevalkit-latest", 100 / 3, ["", "B", ""]),
])
def test_mcq_scores_and_rows(tmp_path, rules, overall, extracted):
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    code, out, rows = run_score(path, "mcq", tmp_path, "--rules", rules)
    assert code == 0
    scores = json.loads(out.read_text())
    assert set(scores) == {"benchmark", "type", "rules", "metrics", "answers", "se", "rows", "skipped"}
    assert (scores["benchmark"], scores["type"], scores["rules"]) == ("Signs", "mcq", rules)
    assert scores["metrics"]["Overall"] == pytest.approx(overall)
    assert set(scores["metrics"]) >= {"depth", "colour", "spatial", "attribute"}
    assert list(scores["se"]) == ["Overall"]
    assert scores["rows"] == {"read": 3, "scored": 3, "skipped": 0, "skip_reasons": {}}
    table = read_rows(rows)
    assert list(table.columns) == ["index", "score", "extracted"]
    assert list(table["index"]) == ["1", "2", "3"]
    assert list(table["extracted"]) == extracted
    hits = [str(int(e == a)) for e, a in zip(extracted, ["A", "B", "A"])]
    assert list(table["score"]) == hits


def test_textvqa_rows_hold_fractional_scores(tmp_path):
    rows = [{"index": 7, "question": "How many?", "answer": json.dumps(["5"] * 2 + ["6"] * 8),
             "prediction": "5."}]
    path = write_tsv(tmp_path / "TV.tsv", rows)
    code, out, row_path = run_score(path, "textvqa", tmp_path, "--rules", "vlmevalkit-0ff0c3e")
    assert code == 0
    table = read_rows(row_path)
    # a "5" reference sees 1 other "5" (1/3), a "6" reference sees 2 (2/3): mean 0.6
    assert float(table["score"][0]) == pytest.approx(0.6)
    assert json.loads(out.read_text())["metrics"]["Overall"] == pytest.approx(60.0)
    assert table["extracted"][0] == "5"


def test_default_rules_are_latest(tmp_path):
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    code, out, _ = run_score(path, "mcq", tmp_path)
    assert code == 0 and json.loads(out.read_text())["rules"] == "vlmevalkit-latest"


def _error_line(capsys, path, type_, tmp_path):
    """The one error line ``vtscale score`` logs, without the log prefix."""
    capsys.readouterr()
    code, out, _ = run_score(path, type_, tmp_path)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert code == 1 and not out.exists() and len(errors) == 1 and "Traceback" not in err
    return errors[0].split(" ERROR vtscale.score: ", 1)[1]


def test_missing_prediction_column(tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "prediction"} for r in MCQ_ROWS]
    path = write_tsv(tmp_path / "NoPred.tsv", rows)
    assert _error_line(capsys, path, "mcq", tmp_path) == f"{path}: missing required column 'prediction'"


def test_missing_benchmark_column(tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "B"} for r in MCQ_ROWS]
    path = write_tsv(tmp_path / "NoB.tsv", rows)
    assert _error_line(capsys, path, "mcq", tmp_path) == f"{path}: missing required column 'B' for type mcq"


def test_unknown_type(tmp_path, capsys):
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    line = _error_line(capsys, path, "multiple-choice", tmp_path)
    assert line.startswith(f"{path}: unknown benchmark type 'multiple-choice'")


def test_empty_file_and_header_only(tmp_path, capsys):
    empty = tmp_path / "Empty.tsv"
    empty.write_text("")
    assert _error_line(capsys, empty, "mcq", tmp_path) == f"{empty}: empty file (no header row)"
    header = tmp_path / "Header.tsv"
    header.write_text("\t".join(MCQ_ROWS[0]) + "\n")
    assert _error_line(capsys, header, "mcq", tmp_path) == f"{header}: no rows under the header"


def test_eval_still_requires_the_image_column(tmp_path):
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    with pytest.raises(InputError, match=r"Signs\.tsv: missing required column 'image'"):
        read_benchmark(path, "Signs", "mcq")
    assert len(read_benchmark(path, "Signs", "mcq", with_images=False).rows) == 3


def strict_json(path):
    """The JSON of ``path``, failing on NaN or infinity (not JSON)."""
    def refuse(constant):
        raise ValueError(f"{path}: {constant} is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_an_undefined_standard_error_is_written_as_null(tmp_path):
    rows = [{"index": 0, "answer": json.dumps(["a red circle", "one circle"]), "prediction": "a circle"}]
    path = write_tsv(tmp_path / "Cap.tsv", rows)
    code, out, _ = run_score(path, "caption", tmp_path)
    assert code == 0
    scores = strict_json(out)
    assert scores["se"] == {"CIDEr": None} and scores["metrics"]["CIDEr"] == 0.0


def test_no_scorable_row_is_an_error_not_a_zero_score(tmp_path, capsys):
    rows = [{**row, "answer": "E"} for row in MCQ_ROWS]
    path = write_tsv(tmp_path / "Signs.tsv", rows)
    assert _error_line(capsys, path, "mcq", tmp_path) == \
        f"{path}: none of its 3 rows could be scored (option mismatch 3)"


def test_scores_json_is_never_written_with_nan(tmp_path, monkeypatch):
    from vtscale.eval import scoring
    monkeypatch.setattr(scoring, "standard_error", lambda *a, **k: float("nan"))
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    code, out, _ = run_score(path, "mcq", tmp_path)
    assert code == 0 and strict_json(out)["se"] == {"Overall": None}


def test_a_latin1_file_is_one_line_naming_line_and_column(tmp_path, capsys):
    rows = [dict(row) for row in MCQ_ROWS]
    rows[1]["prediction"] = "B, the école sign"
    path = write_tsv(tmp_path / "Signs.tsv", rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    assert _error_line(capsys, path, "mcq", tmp_path) == \
        f"{path}: line 3, column 8 ('prediction'): byte 0xe9 is not UTF-8 (save the file as UTF-8)"


def test_a_trailing_tab_on_each_row_is_named_not_taken_for_duplicate_indices(tmp_path, capsys):
    path = write_tsv(tmp_path / "Signs.tsv", MCQ_ROWS)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + [line + "\t" for line in lines[1:]]) + "\n")
    assert _error_line(capsys, path, "mcq", tmp_path) == \
        f"{path}: line 2 has 9 fields, the header 8: column 9 has no name (a tab at the end of each row?)"


def test_score_speed_benchmark_writes_its_json(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "score_speed.py"
    spec = importlib.util.spec_from_file_location("score_speed", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "score_speed.json"
    assert module.main(["--rows", "30", "--types", "pope", "mme", "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert [(r["type"], r["rows"], r["exit_code"]) for r in results] == [("pope", 30, 0), ("mme", 30, 0)]
    assert all(r["se"] == r["se_written"] and r["se"] >= 0 for r in results)


def test_a_prediction_with_a_carriage_return_reads_back_as_written(tmp_path):
    from vtscale.eval.predictions import write_predictions
    from vtscale.eval.tsv import read_frame
    path = tmp_path / "Bench.preds.tsv"
    answers = ["Yes\rno", 'say "A"\tthen\nB', "plain"]
    write_predictions(path, ["0", "1", "2"], answers)
    frame = read_frame(path)
    assert list(frame["index"]) == ["0", "1", "2"] and list(frame["prediction"]) == answers
