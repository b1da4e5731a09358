"""The two scoring rule sets on the concrete cases of issue #15: VLMEvalKit at 0ff0c3e
(the paper's) against today's rules; and the ``eval.rules`` key."""

import pytest
import yaml

from vtscale.config import ConfigError, config_section, validate
from vtscale.eval.config import EvalConfig
from vtscale.eval.metrics import score
from vtscale.eval.metrics.mcq import infer_option
from vtscale.eval.metrics.vqa import relaxed_correct, vqa_accuracy
from vtscale.eval.rules import LATEST, PINNED
from vtscale.eval.tsv import Row

SIGNS = {"A": "The stop sign.", "B": "The school zone sign."}
ANIMALS = {"A": "cat", "B": "dog"}


def mcq_row(answer, options):
    return Row(index="0", image_b64="", question="q", answers=[answer], options=options)


@pytest.mark.parametrize("prediction, options, pinned, latest", [
    # a unique standalone letter anywhere counts at 0ff0c3e, only among the last four tokens today
    ("A. The stop sign is closer to the camera than the sign", SIGNS, "A", None),
    # no "the answer is X" rule at 0ff0c3e: two letters fall through to the option text
    ("Comparing A and B, the answer is B", ANIMALS, None, "B"),
    # no length cut-off on option-text matching at 0ff0c3e
    ("In this photograph taken on a sunny afternoon one can clearly see a dog near the wall",
     ANIMALS, "B", None),
    # a lone Z is its own answer at 0ff0c3e (never an option, so wrong)
    ("Z", ANIMALS, "Z", None),
    ("Cannot determine the answer", ANIMALS, "Z", None),
    ("B", ANIMALS, "B", "B"),
])
def test_mcq_extraction_per_rule_set(prediction, options, pinned, latest):
    assert infer_option(prediction, options, PINNED) == pinned
    assert infer_option(prediction, options, LATEST) == latest


def test_stop_sign_prediction_scores_only_under_0ff0c3e():
    rows = [mcq_row("A", SIGNS)]
    prediction = ["A. The stop sign is closer to the camera than the sign"]
    assert score("mcq", rows, prediction, PINNED)["Overall"] == 100.0
    assert score("mcq", rows, prediction, LATEST)["Overall"] == 0.0


def test_lone_z_is_wrong_under_both():
    rows = [mcq_row("A", ANIMALS)]
    assert score("mcq", rows, ["Z"], PINNED)["Overall"] == 0.0
    assert score("mcq", rows, ["Z"], LATEST)["Overall"] == 0.0


def test_textvqa_number_with_trailing_period():
    references = ["5"] * 10
    assert vqa_accuracy("5.", references, PINNED) == 1.0
    assert vqa_accuracy("5.", references, LATEST) == 0.0
    assert vqa_accuracy("5.5", ["5.5"] * 10, PINNED) == 1.0      # decimal points stay


@pytest.mark.parametrize("prediction, pinned, latest", [("95.2", False, True), ("105.2", True, False)])
def test_chartqa_tolerance_relative_to_prediction_at_0ff0c3e(prediction, pinned, latest):
    assert relaxed_correct(prediction, "100", rules=PINNED) is pinned
    assert relaxed_correct(prediction, "100", rules=LATEST) is latest


def test_chartqa_scores_follow_the_rule_set():
    rows = [Row(index="0", image_b64="", question="q", answers=["100"])]
    assert score("chartqa", rows, ["95.2"], PINNED)["Overall"] == 0.0
    assert score("chartqa", rows, ["95.2"], LATEST)["Overall"] == 100.0


def test_eval_rules_default_and_check():
    assert EvalConfig().rules == LATEST
    assert config_section(EvalConfig, {"eval": {"rules": PINNED}}, "eval").rules == PINNED
    with pytest.raises(ConfigError, match=r"^config error: eval\.rules: 'vlmevalkit-1'") as err:
        config_section(EvalConfig, {"eval": {"rules": "vlmevalkit-1"}}, "eval")
    assert "\n" not in str(err.value)


def test_schema_accepts_the_rule_sets_only(repo_root):
    config = yaml.safe_load((repo_root / "config/demo.yaml").read_text())
    for rules in (PINNED, LATEST):
        config["eval"]["rules"] = rules
        validate(config, repo_root / "config/schema.yaml")
    config["eval"]["rules"] = "latest"
    with pytest.raises(ConfigError, match="eval.rules"):
        validate(config, repo_root / "config/schema.yaml")


@pytest.mark.parametrize("profile, rules", [("paper", PINNED), ("demo", LATEST), ("tiny", LATEST)])
def test_profiles_choose_their_rule_set(repo_root, profile, rules):
    config = yaml.safe_load((repo_root / f"config/{profile}.yaml").read_text())
    assert config["eval"]["rules"] == rules
