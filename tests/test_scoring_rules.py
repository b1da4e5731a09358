"""The two scoring rule sets on the concrete cases of issue #15: VLMEvalKit at 0ff0c3e
(the paper's) against today's rules; and the ``eval.rules`` key."""

import pytest
import yaml

from vtscale.config import config_section
from vtscale.config_checks import check_profile
from vtscale.errors import ConfigError
from vtscale.eval.config import EvalConfig
from vtscale.eval.metrics.mcq import infer_option
from vtscale.eval.metrics.vqa import anls, relaxed_correct, vqa_accuracy
from vtscale.eval.metrics.yorn import extract_yes_no
from vtscale.eval.rules import LATEST, PINNED
from vtscale.eval.scoring import score
from vtscale.eval.tsv import Row, read_benchmark

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
    with pytest.raises(ConfigError, match=r"^config error: eval\.rules='vlmevalkit-1'") as err:
        config_section(EvalConfig, {"eval": {"rules": "vlmevalkit-1"}}, "eval")
    assert "\n" not in str(err.value)


def test_profile_accepts_the_rule_sets_only(repo_root):
    config = yaml.safe_load((repo_root / "config/demo.yaml").read_text())
    for rules in (PINNED, LATEST):
        config["eval"]["rules"] = rules
        check_profile(config, repo_root / "config/schema.yaml")
    config["eval"]["rules"] = "latest"
    with pytest.raises(ConfigError, match="eval.rules"):
        check_profile(config, repo_root / "config/schema.yaml")


@pytest.mark.parametrize("profile, rules", [("paper", PINNED), ("demo", LATEST), ("tiny", LATEST)])
def test_profiles_choose_their_rule_set(repo_root, profile, rules):
    config = yaml.safe_load((repo_root / f"config/{profile}.yaml").read_text())
    assert config["eval"]["rules"] == rules


# --- yes/no, VQA, MME, OCRBench and caption scoring against VLMEvalKit 0ff0c3e -----------

def yn_row(index, answer, category=None, l2=None, image_key=None):
    return Row(index=str(index), image_b64="", question="q", answers=[answer], category=category,
               l2_category=l2, image_key=image_key or str(index))


def answers_row(answers, category=None):
    return Row(index="0", image_b64="", question="q", answers=answers, category=category)


# 33 bare periods before the last word's: VLMEvalKit (0ff0c3e and today) removes only the
# first 32 (re.UNICODE passed as sub's count), so the final "No." keeps its period.
MANY_PERIODS = ". " * 32


@pytest.mark.parametrize("rules", [PINNED, LATEST])
@pytest.mark.parametrize("prediction, expected", [
    (MANY_PERIODS + "No.", "Unknown"),
    (". " * 31 + "No.", "No"),
])
def test_yes_no_extraction_strips_at_most_32_periods(prediction, expected, rules):
    assert extract_yes_no(prediction, rules) == expected


@pytest.mark.parametrize("rules", [PINNED, LATEST])
def test_period_limit_moves_yes_no_and_vqa_scores(rules):
    assert score("yorn", [yn_row(0, "No")], [MANY_PERIODS + "No."], rules)["Overall"] == 0.0
    assert vqa_accuracy(MANY_PERIODS + "red.", ["red"] * 10, rules) == 0.0
    assert vqa_accuracy(". " * 31 + "red.", ["red"] * 10, rules) == 1.0


@pytest.mark.parametrize("rules", [PINNED, LATEST])
@pytest.mark.parametrize("prediction, reference, expected", [
    ("im", "i'm", 0.0),                 # VLMEvalKit's table keys I'm in capitals: never matched
    ("shes", "she's", 0.0),             # not in its table
    ("couldntve", "couldn't've", 0.0),  # two apostrophes dropped: not in its table
    ("couldnt've", "couldn't've", 1.0),
    ("somebodyd", "somebody'd", 1.0),   # its table maps somebody'd to somebodyd
])
def test_vqa_contractions_as_vlmevalkits_table(prediction, reference, expected, rules):
    assert vqa_accuracy(prediction, [reference] * 10, rules) == expected


@pytest.mark.parametrize("rules", [PINNED, LATEST])
def test_textvqa_accuracy_over_the_answer_list(rules):
    # normalised: "im" x2, "i'm" x8 (VLMEvalKit's table never maps "im"); prediction "im".
    # Each "im" reference sees 1 other match -> 1/3, each "i'm" reference sees 2 -> 2/3.
    rows = [answers_row(["im"] * 2 + ["I'm"] * 8, "text")]
    expected = (2 * (1 / 3) + 8 * (2 / 3)) / 10 * 100
    assert score("textvqa", rows, ["Im"], rules)["Overall"] == pytest.approx(expected)
    assert score("textvqa", rows, ["Im"], rules)["text"] == pytest.approx(expected)


def test_mme_acc_plus_takes_an_images_first_two_questions_at_0ff0c3e():
    rows = [yn_row(i, a, "color", image_key="img") for i, a in enumerate(["Yes", "No", "Yes"])]
    preds = ["Yes", "No", "No"]                     # third question wrong
    pinned, latest = score("mme", rows, preds, PINNED), score("mme", rows, preds, LATEST)
    assert pinned["color/acc"] == latest["color/acc"] == pytest.approx(200 / 3)
    assert pinned["color/acc+"] == 100.0 and latest["color/acc+"] == 0.0


def test_mme_groups_by_the_official_lists_only_at_0ff0c3e():
    rows = [yn_row(0, "Yes", "color", "cognition", "a"), yn_row(1, "No", "color", "cognition", "a")]
    pinned, latest = score("mme", rows, ["Yes", "No"], PINNED), score("mme", rows, ["Yes", "No"], LATEST)
    assert (pinned["perception"], pinned["cognition"]) == (200.0, 0.0)
    assert (latest["perception"], latest["cognition"]) == (0.0, 200.0)


def test_mme_rating_at_0ff0c3e_by_hand():
    # color: images a (right, right), b (right, wrong) -> acc 75, acc+ 50 -> 125.
    # code_reasoning: image c (wrong, Unknown) -> 0. "shape" is in neither list: no sum.
    rows = [yn_row(0, "Yes", "color", image_key="a"), yn_row(1, "No", "color", image_key="a"),
            yn_row(2, "Yes", "color", image_key="b"), yn_row(3, "No", "color", image_key="b"),
            yn_row(4, "Yes", "code_reasoning", image_key="c"),
            yn_row(5, "No", "code_reasoning", image_key="c"),
            yn_row(6, "Yes", "shape", image_key="d"), yn_row(7, "No", "shape", image_key="d")]
    preds = ["yes", "No.", "Yes", "Yes", "No", "maybe", "Yes", "No"]
    m = score("mme", rows, preds, PINNED)
    assert m["color"] == 125.0 and m["code_reasoning"] == 0.0 and m["shape"] == 200.0
    assert m["perception"] == 125.0 and m["cognition"] == 0.0 and m["Overall"] == 125.0


def test_pope_rating_at_0ff0c3e_by_hand():
    # Categories split on "," before anything is counted: 5 items from 4 rows.
    # items (truth, extracted): adversarial (Y,Y) (N,Y); popular (Y,Y) (Y,N); random (N,N)
    # overall tp 2, fp 1, fn 1 -> precision = recall = F1 = 2/3; acc 3/5.
    rows = [yn_row(0, "Yes", "adversarial,popular"), yn_row(1, "No", "adversarial"),
            yn_row(2, "Yes", "popular"), yn_row(3, "No", "random")]
    preds = ["Yes", "Yes", "No", "no"]
    for rules in (PINNED, LATEST):
        m = score("pope", rows, preds, rules)
        assert m["Overall"] == pytest.approx(200 / 3) and m["acc"] == pytest.approx(60.0)
        assert m["precision"] == pytest.approx(200 / 3) and m["recall"] == pytest.approx(200 / 3)
        assert m["adversarial/Overall"] == pytest.approx(200 / 3)   # p 1/2, r 1
        assert m["adversarial/acc"] == 50.0 and m["adversarial/precision"] == 50.0
        assert m["popular/recall"] == 50.0 and m["popular/precision"] == 100.0
        assert m["random/Overall"] == 0.0 and m["random/acc"] == 100.0


def test_hallusion_rating_at_0ff0c3e_from_indices(tmp_path):
    # ids are index parts 3-5 (set, figure, question); groups are keyed with the l2-category.
    records = [("VS_chart_9_0_0_0", "Yes", "VS", "chart", "Yes"),   # right
               ("VS_chart_9_0_0_1", "No", "VS", "chart", "Yes"),    # wrong
               ("VS_chart_9_0_1_0", "Yes", "VS", "chart", "Yes"),   # right
               ("VS_chart_9_0_1_1", "No", "VS", "chart", "No"),     # right
               ("VD_map_9_0_0_0", "Yes", "VD", "map", "yes")]       # right; same ids, other l2
    tsv = tmp_path / "HallusionBench.tsv"
    tsv.write_text("index\tquestion\tanswer\tcategory\tl2-category\n" + "".join(
        f"{i}\tq\t{a}\t{c}\t{l2}\n" for i, a, c, l2, _ in records))
    bench = read_benchmark(tsv, "HallusionBench", "hallusionbench", with_images=False)
    preds = [p for *_, p in records]
    # figures: chart/0/0 {right, wrong}, chart/0/1 {right, right}, map/0/0 {right} -> 2/3
    # questions: chart/0/0 {right, right}, chart/0/1 {wrong, right}, map/0/0 {right} -> 2/3
    m = score("hallusionbench", bench.rows, preds, PINNED)
    assert m["aAcc"] == 80.0
    assert m["fAcc"] == pytest.approx(200 / 3) and m["qAcc"] == pytest.approx(200 / 3)
    assert m["Overall"] == pytest.approx((80 + 400 / 3) / 3)   # ours: mean of the three
    assert (m["VS/aAcc"], m["VS/fAcc"], m["VS/qAcc"]) == (75.0, 50.0, 50.0)
    assert score("hallusionbench", bench.rows, preds, LATEST) == m


@pytest.mark.parametrize("rules", [PINNED, LATEST])
def test_anls_lengths_of_upper_cased_strings(rules):
    # distance("ab", "ßb") = 1; lengths 2 and 2, but "ßB".upper() is "SSB" (3)
    assert anls("ßb", ["ab"], rules) == pytest.approx(2 / 3)
    assert score("docvqa", [answers_row(["ab"])], ["ßb"], rules)["Overall"] == pytest.approx(200 / 3)


def test_ocrbench_final_score_counts_its_ten_categories_only_at_0ff0c3e():
    rows = [answers_row(["stop"], "Regular Text Recognition"), answers_row(["stop"], "Other")]
    pinned = score("ocrbench", rows, ["STOP", "stop"], PINNED)
    assert pinned["Overall"] == 1.0 and pinned["Text Recognition"] == 1.0
    latest = score("ocrbench", rows, ["STOP", "stop"], LATEST)
    assert latest["Overall"] == 2.0 and "Text Recognition" not in latest


def test_ocrbench_sums_at_0ff0c3e_by_hand():
    # hits: Regular 1 of 2, Digit String 1, HMER 1 (spaces and newlines ignored), Doc VQA 1
    # (lower-cased containment); Text Recognition = 1 + 1; Final Score = 2 + 1 + 1.
    rows = [answers_row(["STOP"], "Regular Text Recognition"),
            answers_row(["exit"], "Regular Text Recognition"),
            answers_row(["12 34"], "Digit String Recognition"),
            answers_row(["x ^ 2"], "Handwritten Mathematical Expression Recognition"),
            answers_row(["no", "Total:\n5"], "Doc-oriented VQA")]
    preds = ["the sign says stop.", "entrance", "12 34", "x^\n2", "the total: 5 here"]
    m = score("ocrbench", rows, preds, PINNED)
    assert m["Text Recognition"] == 2.0
    assert m["Handwritten Mathematical Expression Recognition"] == 1.0
    assert m["Doc-oriented VQA"] == 1.0 and m["Overall"] == 4.0


def test_ocrvqa_and_chartqa_take_the_best_reference_at_0ff0c3e():
    # OCRVQA: stripped, case-insensitive equality with any reference.
    ocr = [answers_row(["The Hobbit", "Hobbit"], "fiction"), answers_row(["Dune"], "fiction")]
    for rules in (PINNED, LATEST):
        assert score("ocrvqa", ocr, [" hobbit ", "Dune."], rules)["Overall"] == 50.0
    # ChartQA at 0ff0c3e: |reference - prediction| / |prediction| <= 5 % against any reference;
    # "52%" reads 0.52: |0.5 - 0.52| / 0.52 = 3.8 %; 95.2 vs 100: 5.04 % of 95.2 -> wrong.
    chart = [answers_row(["0.5"]), answers_row(["7", "100"])]
    assert score("chartqa", chart, ["52%", "95.2"], PINNED)["Overall"] == 50.0
    assert score("chartqa", chart, ["52%", "95.2"], LATEST)["Overall"] == 100.0


def test_caption_scores_raw_strings_times_100_under_both():
    # Untokenised: "circle." is its own word, so 2 of the 3 words match (BLEU-1 2/3, no
    # brevity penalty; ROUGE-L LCS 2 of 3 both ways); a PTB tokenizer would give 100.
    rows = [answers_row(["a red circle."])]
    for rules in (PINNED, LATEST):
        m = score("caption", rows, ["a red circle"], rules)
        assert m["Bleu_1"] == pytest.approx(200 / 3, abs=1e-3)
        assert m["ROUGE_L"] == pytest.approx(200 / 3, abs=1e-3)
