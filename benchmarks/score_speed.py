"""`vtscale score` on large generated predictions TSVs: how long scoring and the headline
score's standard error take.

    python benchmarks/score_speed.py [--rows 50000] [--types pope mcq [mme]] [--seed 0] \
        [--out results/demo/benchmarks/score_speed.json]

Each type gets a seeded TSV of --rows rows (three questions per image; POPE rows in its
three categories, MME's in five, MCQ with four options) and answers of every kind the
scorers read (yes, no, neither; a right or wrong option). Writes per type: rows, the
seconds of the whole command (reading, scoring, standard error, writing) and of the
standard error alone, the headline score and its standard error. Before the bootstrap
read each answer once, 50,000 POPE rows took 224 s (issue 22); after, 2.8 s (1.4 s for
MCQ) on the demo's 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vtscale.eval import score
from vtscale.eval.rules import LATEST
from vtscale.eval.uncertainty import headline_score, standard_error
from vtscale.io import write_json
from vtscale.logs import setup_logging

log = logging.getLogger("score_speed")

CATEGORIES = {"pope": ["random", "popular", "adversarial"],
              "mme": ["existence", "count", "position", "color", "OCR"],
              "mcq": ["count", "color", "position", "reading"]}
YES_NO_ANSWERS = ["Yes", "No", "yes, there is one.", "No, there is not.", "I cannot tell."]
MCQ_ANSWERS = ["A", "B", "C", "D", "The answer is B.", "none of them"]


def predictions_frame(type_: str, rows: int, seed: int) -> pd.DataFrame:
    """A seeded predictions TSV of ``rows`` rows of ``type_`` (no image column)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"index": range(rows), "image_path": [f"img{i // 3}" for i in range(rows)],
                          "question": "Is there a red circle in the image?",
                          "category": rng.choice(CATEGORIES[type_], size=rows)})
    if type_ == "mcq":
        for letter in "ABCD":
            frame[letter] = f"option {letter}"
        frame["answer"] = rng.choice(list("ABCD"), size=rows)
        frame["prediction"] = rng.choice(MCQ_ANSWERS, size=rows)
    else:
        frame["answer"] = rng.choice(["Yes", "No"], size=rows)
        frame["prediction"] = rng.choice(YES_NO_ANSWERS, size=rows)
    return frame


def time_type(type_: str, rows: int, seed: int, folder: Path) -> dict:
    tsv = folder / f"Speed{type_.upper()}.tsv"
    predictions_frame(type_, rows, seed).to_csv(tsv, sep="\t", index=False)
    out = folder / f"{tsv.stem}.scores.json"
    start = time.perf_counter()
    code = score.main([str(tsv), "--type", type_, "--out", str(out)])
    command_s = time.perf_counter() - start
    bench, preds = score.read_scored(tsv, type_)
    headline = headline_score(bench, preds, LATEST)
    start = time.perf_counter()
    se = standard_error(bench, preds, rules=LATEST, headline=headline)
    se_s = time.perf_counter() - start
    written = json.loads(out.read_text())
    return {"type": type_, "rows": rows, "exit_code": code, "score_s": command_s, "standard_error_s": se_s,
            "metric": headline[0], "score": headline[1], "se": se,
            "se_written": written["se"].get(headline[0])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=50_000, help="rows per generated TSV")
    p.add_argument("--types", nargs="+", default=["pope", "mcq"], choices=sorted(CATEGORIES),
                   help="benchmark types to time")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated rows")
    p.add_argument("--out", type=Path, default=Path("results/demo/benchmarks/score_speed.json"),
                   help="JSON to write")
    args = p.parse_args(argv)
    setup_logging()
    with tempfile.TemporaryDirectory() as tmp:
        results = [time_type(type_, args.rows, args.seed, Path(tmp)) for type_ in args.types]
    write_json(args.out, {"rows": args.rows, "seed": args.seed, "results": results})
    for r in results:
        log.info("%s, %d rows: vtscale score %.2fs (standard error %.2fs); %s %.2f ± %.2f",
                 r["type"], r["rows"], r["score_s"], r["standard_error_s"], r["metric"], r["score"], r["se"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
