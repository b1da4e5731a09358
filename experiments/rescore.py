"""Do today's scorers give a finished run's predictions the scores it recorded?

    python experiments/rescore.py config/demo.yaml [--rules vlmevalkit-0ff0c3e]

Reads every ``eval/<variant>/<setting>/<Bench>.preds.tsv`` under the profile's results
folder, scores it with the current code (the profile's ``eval.rules`` unless ``--rules``)
and prints the score files whose metrics moved. Used to check that a scorer change leaves
the demo's and the tiny profile's numbers alone (docs/experiments.md).
"""
import argparse
import json
from pathlib import Path

from vtscale.config import config_section, load
from vtscale.eval.config import EvalConfig
from vtscale.eval.predictions import read_predictions
from vtscale.eval.scoring import score


def moved(recorded: dict, new: dict) -> dict:
    keys = set(recorded) | set(new)
    return {k: (recorded.get(k), new.get(k)) for k in sorted(keys)
            if k not in recorded or k not in new or abs(recorded[k] - new[k]) > 1e-9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--rules")
    args = parser.parse_args()
    config = load(args.config)
    cfg = config_section(EvalConfig, config, "eval")
    rules = args.rules or cfg.rules
    benches = {name: cfg.read(name, Path(config["data_dir"])) for name in cfg.benchmarks}
    files = sorted(Path(config["results_dir"]).glob("eval/*/*/*.scores.json"))
    changed = 0
    for path in files:
        name = path.name[: -len(".scores.json")]
        bench = benches[name]
        preds = read_predictions(path.with_name(f"{name}.preds.tsv"), bench)
        diff = moved(json.loads(path.read_text())["metrics"],
                     score(bench.type, bench.rows, preds, rules, bench.circular))
        if diff:
            changed += 1
            print(path, diff)
    print(f"{len(files)} score files rescored under {rules}: {changed} moved")


if __name__ == "__main__":
    main()
