"""End to end: `vtscale eval` on a tiny VisionTokenModel and small TSVs, resume from the
cache, and `vtscale collect-scores`."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vtscale.errors import InputError
from vtscale.eval import collect, run
from vtscale.eval.generate import generate_predictions
from vtscale.model.setting import Setting, setting_tag

REPO = Path(__file__).resolve().parents[1]


def _load_speed_module():
    spec = importlib.util.spec_from_file_location("eval_speed", REPO / "benchmarks" / "eval_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_b64(seed: int) -> str:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_world")
    bench = root / "data" / "benchmarks"
    bench.mkdir(parents=True)
    yorn = [{"index": i, "image": png_b64(i // 2) if i % 2 == 0 else str(i - 1),
             "question": f"Is there a {c} circle in the image?", "answer": ["Yes", "No"][i % 2],
             "category": "color", "l2-category": "perception"}
            for i, c in enumerate(["red", "blue", "green", "pink", "grey", "gold"])]
    broken = base64.b64encode(b"not an image, just some bytes " * 4).decode()
    yorn.append({"index": 6, "image": broken, "question": "Is it broken?",
                 "answer": "Yes", "category": "color", "l2-category": "perception"})
    pd.DataFrame(yorn).to_csv(bench / "MME.tsv", sep="\t", index=False)
    mcq = [{"index": i, "image": png_b64(10 + i), "question": "Which shape?", "A": "circle",
            "B": "square", "C": "star", "answer": "ABCE"[i], "category": "shape"} for i in range(4)]
    pd.DataFrame(mcq).to_csv(bench / "MCQ.tsv", sep="\t", index=False)
    cap = [{"index": i, "image": png_b64(20 + i), "answer": json.dumps(["a red circle", "one circle"])}
           for i in range(3)]
    pd.DataFrame(cap).to_csv(bench / "Cap.tsv", sep="\t", index=False)
    texts = [r["question"] for r in yorn] + ["a red circle one circle yes no"] * 4
    model = _load_speed_module().build_tiny_model(root / "model", texts)
    cfg = {"eval": {"backend": "builtin", "batch_size": 3, "max_new_tokens": {"caption": 6},
                    "benchmarks": {"DemoMME": {"tsv": "benchmarks/MME.tsv", "type": "mme"},
                                   "DemoMCQ": {"tsv": "benchmarks/MCQ.tsv", "type": "mcq"},
                                   "DemoCap": {"tsv": "benchmarks/Cap.tsv"}}}}
    return {"root": root, "model": model, "cfg": cfg}


def eval_argv(world, out, cache, *extra):
    return ["--cfg", json.dumps(world["cfg"]), "--model", str(world["model"]),
            "--data-dir", str(world["root"] / "data"), "--n", "4", "--m", "2",
            "--variant", "question", "--out-dir", str(out), "--cache-dir", str(cache), *extra]


def test_eval_end_to_end_with_resume(world, tmp_path, monkeypatch):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert run.main(eval_argv(world, out, cache)) == 0
    scores = json.loads((out / "DemoMME.scores.json").read_text())
    assert {k: scores[k] for k in ("variant", "benchmark", "type", "n", "m", "rules")} == \
        {"variant": "question", "benchmark": "DemoMME", "type": "mme", "n": 4, "m": 2,
         "rules": "vlmevalkit-latest"}
    assert scores["skipped"] == [{"index": "6", "reason": "undecodable image (UnidentifiedImageError)"}]
    assert scores["rows"] == {"read": 7, "scored": 6, "skipped": 1, "skip_reasons": {"undecodable image": 1}}
    assert {"Overall", "perception", "cognition", "color/acc", "color/acc+"} <= set(scores["metrics"])
    mcq = json.loads((out / "DemoMCQ.scores.json").read_text())
    assert [s["index"] for s in mcq["skipped"]] == ["3"] and "not one of the options" in mcq["skipped"][0]["reason"]
    cap = json.loads((out / "DemoCap.scores.json").read_text())
    assert mcq["rows"] == {"read": 4, "scored": 3, "skipped": 1, "skip_reasons": {"option mismatch": 1}}
    assert cap["type"] == "caption" and "CIDEr" in cap["metrics"]
    assert cap["rows"] == {"read": 3, "scored": 3, "skipped": 0, "skip_reasons": {}}
    assert list(scores["se"]) == ["Overall"] and scores["se"]["Overall"] >= 0      # bootstrap
    assert list(mcq["se"]) == ["Overall"] and list(cap["se"]) == ["CIDEr"]
    preds = pd.read_csv(out / "DemoMME.preds.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(preds.columns) == ["index", "prediction"] and list(preds["index"]) == list("012345")
    top = preds["prediction"].str.lower().str.split().str.join(" ").value_counts().iloc[0]
    assert scores["answers"]["most_common_share"] == 100.0 * top / len(preds)
    assert not any(name.startswith("answers") for name in scores["metrics"])       # not a score

    # Resume: drop the outputs and one cached chunk; only that chunk's rows are generated again.
    chunks = sorted((cache / "DemoMME").glob("chunk_*.json"))
    assert len(chunks) == 2                                   # 6 rows, batch size 3
    chunks[-1].unlink()
    for f in out.iterdir():
        f.unlink()
    calls = []
    original = run.generate_predictions

    def counting(model, rows, prompts, **kw):
        calls.append((rows[0].index if rows else None, len(rows) - len(kw["done"])))
        return original(model, rows, prompts, **kw)

    monkeypatch.setattr(run, "generate_predictions", counting)
    assert run.main(eval_argv(world, out, cache)) == 0
    assert [c[1] for c in calls] == [3, 0, 0]                 # MME: 3 left; MCQ, captions: all cached
    again = pd.read_csv(out / "DemoMME.preds.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert again.equals(preds)


def test_strict_eval_fails_on_the_broken_row_before_loading_the_model(world, tmp_path, monkeypatch):
    strict = {**world, "cfg": {"eval": {**world["cfg"]["eval"], "strict": True}}}
    monkeypatch.setattr(run, "load_model", lambda *a: pytest.fail("model loaded despite a bad row"))
    with pytest.raises(InputError) as err:
        run.main(eval_argv(strict, tmp_path / "out", tmp_path / "cache"))
    assert str(err.value).endswith("MME.tsv: row index 6: field 'image': undecodable image "
                                   "(UnidentifiedImageError) (eval.strict is on)")
    assert not (tmp_path / "out").exists()


def test_cache_invalidated_by_other_setting(world, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert run.main(eval_argv(world, out, cache)) == 0
    before = (cache / "DemoMCQ" / "meta.json").read_text()
    assert run.main(eval_argv(world, out, cache, "--no-question")) == 0
    assert (cache / "DemoMCQ" / "meta.json").read_text() != before


def test_batched_predictions_equal_one_by_one(world):
    from vtscale.eval import prompts
    from vtscale.eval.tsv import read_benchmark
    from vtscale.model.vlm import VisionTokenModel

    model = VisionTokenModel.from_pretrained(world["model"]).eval()
    bench = read_benchmark(world["root"] / "data/benchmarks/MME.tsv", "MME", "mme")
    texts = [prompts.build_prompt(r, "mme") for r in bench.rows]
    kw = dict(setting=Setting(4, 2), max_new_tokens=5)
    batched = generate_predictions(model, bench.rows, texts, batch_size=4, **kw)
    single = generate_predictions(model, bench.rows, texts, batch_size=1, sort_by_length=False, **kw)
    assert batched == single


def test_collect_scores_tidy_sorted(tmp_path):
    def scores(variant, n, metrics, se):
        path = tmp_path / "eval" / variant / setting_tag(n, min(n, 2)) / "B.scores.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"variant": variant, "benchmark": "B", "type": "pope", "n": n,
                                    "m": min(n, 2), "metrics": metrics, "se": se, "skipped": []}))
        return str(path)

    files = [scores("question", 4, {"Overall": 80.0, "acc": 75.0}, {"Overall": 1.5}),
             scores("no_question", 1, {"Overall": 50.5}, {"Overall": 2.5}),
             scores("question", 2, {"Overall": 70.0}, {})]
    out = tmp_path / "scores.csv"
    assert collect.main(files + ["--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["variant", "benchmark", "metric", "n", "m", "score", "se"]
    assert frame.fillna(-1).values.tolist() == [
        ["no_question", "B", "Overall", 1, 1, 50.5, 2.5],
        ["question", "B", "Overall", 2, 2, 70.0, -1],
        ["question", "B", "Overall", 4, 2, 80.0, 1.5],
        ["question", "B", "acc", 4, 2, 75.0, -1]]


def test_collect_scores_names_bad_file(tmp_path):
    bad = tmp_path / "eval" / "question" / "n1_m1" / "B.scores.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(json.dumps({"variant": "question", "benchmark": "B", "n": 1, "m": 1,
                               "metrics": {"Overall": "high"}}))
    with pytest.raises(InputError, match=r"n1_m1/B.scores.json: metrics.Overall"):
        collect.main([str(bad), "--out", str(tmp_path / "s.csv")])


@pytest.mark.parametrize("content, message", [
    ("index\timage\tquestion\tanswer\n", r"no rows under the header"),
    ("index\timage\tquestion\tanswer\n0\t{img}\tIs it red?\tYes\t\n1\t{img}\tIs it blue?\tNo\t\n",
     r"line 2 has 5 fields, the header 4: column 5 has no name"),
    ("index\timage\tquestion\tanswer\n0\t{img}\tIs it red?\tMaybe\n",
     r"none of its 1 rows could be scored \(bad answer 1\)"),
])
def test_a_benchmark_without_a_scorable_row_fails_naming_it_before_the_model_loads(
        world, tmp_path, monkeypatch, content, message):
    data = tmp_path / "data"
    (data / "benchmarks").mkdir(parents=True)
    tsv = data / "benchmarks" / "POPE.tsv"
    tsv.write_text(content.format(img=png_b64(3)))
    cfg = {"eval": {"benchmarks": {"DemoPOPE": {"tsv": "benchmarks/POPE.tsv", "type": "pope"}}}}
    argv = eval_argv({**world, "cfg": cfg}, tmp_path / "out", tmp_path / "cache")
    argv[argv.index("--data-dir") + 1] = str(data)
    monkeypatch.setattr(run, "load_model", lambda *a: pytest.fail("model loaded for an unscorable benchmark"))
    with pytest.raises(InputError, match=rf"^{tsv}: {message}"):
        run.main(argv)
    assert not (tmp_path / "out" / "DemoPOPE.scores.json").exists()
