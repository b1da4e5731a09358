"""Scorers against hand-computed values (VLMEvalKit's exact-matching rules)."""

import pytest

from vtscale.eval.metrics.caption import caption_scores
from vtscale.eval.metrics.mcq import infer_option, mcq_scores
from vtscale.eval.metrics.text import normalize_vqa_answer, strip_punctuation
from vtscale.eval.metrics.vqa import (anls, chartqa_scores, docvqa_scores, exact_match,
                                      ocrbench_scores, ocrvqa_scores, relaxed_correct,
                                      textvqa_scores, vqa_accuracy)
from vtscale.eval.metrics.yorn import (extract_yes_no, hallusion_scores, mme_scores, pope_scores,
                                       yorn_scores)
from vtscale.eval.benchmark import Row


def row(index, answer, category=None, l2=None, image_key=None, options=None, extra=None):
    answers = answer if isinstance(answer, list) else [answer]
    return Row(index=str(index), image_b64="", question="q", answers=answers,
               options=options or {}, category=category, l2_category=l2,
               image_key=image_key or str(index), extra=extra or {})


@pytest.mark.parametrize("text,expected", [
    ("Yes.", "Yes"), ("yes", "Yes"), ("YES, it is.", "Yes"), ("No!", "No"),
    ("no", "No"), ("Yes and no", "Unknown"), ("maybe", "Unknown"), ("", "Unknown"),
    ("Nope", "Unknown"), ("yes/no", "Unknown"), ("yesterday", "Unknown"),
])
def test_yes_no_extraction(text, expected):
    assert extract_yes_no(text) == expected


def test_yorn_accuracy_unknown_is_wrong():
    rows = [row(0, "Yes", "a"), row(1, "No", "a"), row(2, "Yes", "b"), row(3, "No", "b")]
    m = yorn_scores(rows, ["Yes.", "yes", "I am not sure", "no"])
    assert m["Overall"] == pytest.approx(50.0)
    assert m["a"] == pytest.approx(50.0) and m["b"] == pytest.approx(50.0)


def test_pope_f1_precision_recall():
    # truth Y Y Y N N ; extracted Y N Y Y Unknown -> tp=2 fp=1 fn=1
    rows = [row(i, a, "random") for i, a in enumerate(["Yes", "Yes", "Yes", "No", "No"])]
    m = pope_scores(rows, ["Yes", "No", "yes.", "Yes", "dunno"])
    assert m["precision"] == pytest.approx(200 / 3)
    assert m["recall"] == pytest.approx(200 / 3)
    assert m["Overall"] == pytest.approx(200 / 3)
    assert m["acc"] == pytest.approx(40.0)            # 2 of 5; Unknown on a No question is wrong
    assert m["random/Overall"] == pytest.approx(200 / 3)


def test_pope_comma_categories_count_in_each():
    rows = [row(0, "Yes", "random,popular"), row(1, "No", "popular")]
    m = pope_scores(rows, ["Yes", "Yes"])
    assert m["random/acc"] == 100.0 and m["random/Overall"] == 100.0
    assert m["popular/acc"] == 50.0
    assert m["popular/precision"] == 50.0 and m["popular/recall"] == 100.0
    assert m["acc"] == pytest.approx(200 / 3)          # 3 exploded items, 2 right


def test_pope_no_positive_predictions_gives_zero_f1():
    m = pope_scores([row(0, "Yes"), row(1, "No")], ["No", "No"])
    assert m["Overall"] == 0.0 and m["precision"] == 0.0 and m["acc"] == 50.0


def test_mme_acc_plus_needs_both_questions_of_an_image():
    rows = [row(0, "Yes", "color", image_key="i1"), row(1, "No", "color", image_key="i1"),
            row(2, "Yes", "color", image_key="i2"), row(3, "No", "color", image_key="i2"),
            row(4, "Yes", "code_reasoning", image_key="i3"), row(5, "No", "code_reasoning", image_key="i3")]
    preds = ["Yes", "No", "Yes", "Yes", "yes", "No."]
    m = mme_scores(rows, preds)
    assert m["color/acc"] == 75.0 and m["color/acc+"] == 50.0 and m["color"] == 125.0
    assert m["code_reasoning"] == 200.0
    assert m["perception"] == 125.0 and m["cognition"] == 200.0 and m["Overall"] == 325.0


def test_mme_groups_by_l2_category_for_demo_categories():
    rows = [row(0, "Yes", "shape", "perception", "a"), row(1, "No", "shape", "perception", "a"),
            row(2, "Yes", "counting_logic", "cognition", "b"), row(3, "No", "counting_logic", "cognition", "b")]
    m = mme_scores(rows, ["Yes", "No", "No", "No"])
    assert m["perception"] == 200.0 and m["cognition"] == 50.0 and m["Overall"] == 250.0


def test_hallusion_aacc_facc_qacc():
    ids = lambda s, f, q: {"set_id": s, "figure_id": f, "question_id": q}
    rows = [row(0, "Yes", "VS", "chart", extra=ids("0", "0", "0")),
            row(1, "No", "VS", "chart", extra=ids("0", "0", "1")),
            row(2, "Yes", "VS", "chart", extra=ids("0", "1", "0")),
            row(3, "Yes", "VS", "chart", extra=ids("0", "1", "1"))]
    m = hallusion_scores(rows, ["Yes", "No", "No", "Yes"])
    # aAcc 3/4; figures (0: both right, 1: one wrong) -> 1/2; questions q0: {right, wrong},
    # q1: {right, right} -> 1/2
    assert m["aAcc"] == 75.0 and m["fAcc"] == 50.0 and m["qAcc"] == 50.0
    assert m["Overall"] == pytest.approx(175 / 3)
    assert m["chart/aAcc"] == 75.0


@pytest.mark.parametrize("text,expected", [
    ("The answer is B.", "B"), ("(B) dog", "B"), ("B", "B"), ("b", None), ("A or B", None),
    ("dog", "B"), ("It is a dog.", "B"), ("cat or dog", None),
    ("A cat sits on the mat while a dog sleeps and we are not sure which B", None),
    ("Sorry, the correct answer is **C** because of x y z w", "C"),
    ("Cannot determine the answer", None),
])
def test_mcq_option_inference(text, expected):
    options = {"A": "cat", "B": "dog", "C": "bird", "D": "fish"}
    assert infer_option(text, options) == expected


def test_mcq_accuracy_per_category():
    opts = {"A": "red", "B": "blue"}
    rows = [row(0, "A", "color", options=opts), row(1, "B", "color", options=opts),
            row(2, "B", "shape", options=opts), row(3, "A", "shape", options=opts)]
    m = mcq_scores(rows, ["A", "The answer is B.", "A or B", "blue"])
    assert m["Overall"] == 50.0 and m["color"] == 100.0 and m["shape"] == 0.0


def test_vqa_normalisation():
    assert strip_punctuation("hello, world!") == "hello world "  # ", " glued: removed; "!" -> space
    assert strip_punctuation("a-b") == "a b"
    assert strip_punctuation("1,000 a-b.") == "1000 ab"          # number comma: all removed
    assert normalize_vqa_answer("The Two dogs.") == "2 dogs"
    assert normalize_vqa_answer("dont") == "don't"
    assert normalize_vqa_answer("3.5") == "3.5"


def test_textvqa_accuracy_counts_other_annotators():
    answers = ["two"] * 2 + ["2"] + ["three"] * 7          # normalised: "2" x3, "3" x7
    # "2": each of the 3 "2" refs sees 2 other matches -> 2/3; the 7 others see 3 -> 1
    assert vqa_accuracy("2", answers) == pytest.approx((3 * 2 / 3 + 7 * 1) / 10)
    assert vqa_accuracy("Three.", answers) == pytest.approx((3 * 1 + 7 * 1) / 10)  # 7 others >= 3
    assert vqa_accuracy("four", answers) == 0.0
    m = textvqa_scores([row(0, answers, "x"), row(1, ["a"] * 10, "y")], ["2", "a"])
    assert m["Overall"] == pytest.approx((0.9 + 1.0) / 2 * 100) and m["y"] == 100.0


@pytest.mark.parametrize("pred,target,expected", [
    ("105", "100", True), ("105.01", "100", False), ("95", "100", True), ("94.9", "100", False),
    ("0", "0", True), ("0.0", "0", False), ("1", "0", False),          # zero target: exact text
    ("52%", "0.5", True), ("Yes", "yes", True), ("Paris ", "paris", True), ("abc", "abd", False),
])
def test_chartqa_relaxed_correctness(pred, target, expected):
    assert relaxed_correct(pred, target) is expected


def test_chartqa_scores_take_best_reference():
    m = chartqa_scores([row(0, ["10", "20"]), row(1, "x")], ["20.5", "y"])
    assert m["Overall"] == 50.0


def test_ocrvqa_exact_match():
    assert exact_match(" The Hobbit ", ["the hobbit"]) == 1.0
    assert exact_match("The Hobbit.", ["the hobbit"]) == 0.0
    assert ocrvqa_scores([row(0, "abc", "t"), row(1, "x", "t")], ["ABC", "y"])["t"] == 50.0


def test_docvqa_anls_threshold():
    assert anls("hello", ["hello"]) == 1.0
    assert anls("hellp", ["hello"]) == pytest.approx(0.8)
    assert anls("xyz", ["hello"]) == 0.0
    assert docvqa_scores([row(0, "hello")], ["hellp"])["Overall"] == pytest.approx(80.0)


def test_ocrbench_hits_per_category():
    rows = [row(0, ["STOP"], "Regular Text Recognition"), row(1, ["exit"], "Regular Text Recognition"),
            row(2, ["x^2 + 1"], "Handwritten Mathematical Expression Recognition")]
    m = ocrbench_scores(rows, ["the sign says stop.", "entrance", "x^2+1"])
    assert m["Overall"] == 2.0 and m["Regular Text Recognition"] == 1.0
    assert m["Handwritten Mathematical Expression Recognition"] == 1.0


def test_caption_scores_perfect_and_partial():
    refs = ["a red circle on the left", "a red circle left of a square"]
    perfect = caption_scores([row(0, refs), row(1, ["two blue squares"])],
                             ["a red circle on the left", "two blue squares"])
    assert perfect["Bleu_1"] == pytest.approx(100.0)
    assert perfect["ROUGE_L"] == pytest.approx(100.0)
    assert set(perfect) == {"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"}
    # one candidate "a red square" vs ref "a red circle": 2 of 3 unigrams match, no brevity penalty
    one = caption_scores([row(0, ["a red circle"])], ["a red square"])
    assert one["Bleu_1"] == pytest.approx(200 / 3, abs=1e-3)
    assert one["ROUGE_L"] == pytest.approx(200 / 3, abs=1e-3)  # LCS 2/3 both ways


def test_answer_spread_counts_the_most_common_answer():
    from vtscale.eval.metrics import answer_spread
    spread = answer_spread(["Yes", "yes ", "No", "Yes"])
    assert spread == {"most_common_share": 75.0, "distinct_share": 50.0}
    assert answer_spread([]) == {}
