"""The paper profile's choices (the authors' chat format, views, stage 1, scoring rules,
the Fig. 11 second fit) through the whole Snakefile on the tiny profile's sizes: the
paper profile itself needs GPUs and the hub, its code paths do not."""

import csv
import json
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.slow

PAPER_CHOICES = {
    "model": {"view_rule": "authors", "vision": {"text_context_init": "normal", "answer_sot": False},
              "llm": {"chat_format": "llama-2-vision"}},
    "train": {"stage1": {"samples": "conversation", "identity": "batch", "answer_mask_sigma": 1.0,
                         "answer_head": False, "train_vision_tower": True, "train_text_tower": True},
              "stage2": {"n": 4, "m": 2}},
    "eval": {"rules": "vlmevalkit-0ff0c3e", "multi_image": "all"},
    "analysis": {"exclude": {"DemoCaption": [2]}},
}


@pytest.fixture(scope="module")
def paper_choices_run(repo_root, venv_env, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_paper_choices")
    overlay = workdir / "paper_choices.yaml"
    overlay.write_text(yaml.safe_dump(PAPER_CHOICES))
    cmd = ["snakemake", "-s", str(repo_root / "Snakefile"), "--directory", str(workdir), "--cores", "2",
           "--configfile", str(repo_root / "config/tiny.yaml"), str(overlay)]
    proc = subprocess.run(cmd, env=venv_env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return workdir / "results" / "tiny"


def test_stage1_trains_on_whole_conversations_with_the_batch_identity(paper_choices_run):
    with open(paper_choices_run / "train_metrics" / "stage1.csv") as f:
        steps = list(csv.DictReader(f))
    assert steps and all(float(s["identity"]) > 0 for s in steps)
    record = json.loads((paper_choices_run / "models" / "stage1" / "vtscale_model.json").read_text())
    assert record["model"]["llm"]["chat_format"] == "llama-2-vision"
    assert record["model"]["view_rule"] == "authors"


def test_scores_follow_the_pinned_rules_and_the_fit_is_repeated_without_n2(paper_choices_run):
    scores = sorted(paper_choices_run.glob("eval/question/*/DemoMCQ.scores.json"))
    assert scores and all(json.loads(p.read_text())["rules"] == "vlmevalkit-0ff0c3e" for p in scores)
    with open(paper_choices_run / "fits.csv") as f:
        fits = list(csv.DictReader(f))
    caption = [r for r in fits if r["benchmark"] == "DemoCaption"]
    assert caption and all(r["excluded_n"] == "2" and r["n_points_excl"] == "2" for r in caption)
    assert all(r["excluded_n"] == "" for r in fits if r["benchmark"] != "DemoCaption")
