"""The four document filters at their exact boundaries."""

import pytest

from vtscale.augment.filters import (FilterThresholds, first_failure, is_dissimilar, is_length_mismatch,
                                     is_repetitive, is_too_short, length_ratio, tail_unique_ratio, tokenize)


def words(n, prefix="w"):
    return [f"{prefix}{i}" for i in range(n)]


def test_tokenize_splits_punctuation_like_word_tokenize():
    assert tokenize("Hello, world. It's fine!") == ["Hello", ",", "world.", "It", "'s", "fine", "!"]


@pytest.mark.parametrize("n_source, n_parsed, short", [(10, 10, False), (9, 10, True), (10, 9, True)])
def test_too_short_boundary(n_source, n_parsed, short):
    th = FilterThresholds(min_tokens=10)
    assert is_too_short(words(n_source), words(n_parsed), th) is short


def test_length_ratio_values():
    assert length_ratio(100, 90) == pytest.approx(0.1)
    assert length_ratio(90, 100) == pytest.approx(0.1)
    assert length_ratio(0, 0) == 0.0
    assert length_ratio(5, 0) == 1.0


@pytest.mark.parametrize("n_parsed, mismatch", [(90, False), (110, False), (89, True), (112, True)])
def test_length_mismatch_boundary(n_parsed, mismatch):
    # 10/100 and 10/110 are <= 0.1 (kept); 11/100 and 12/112 exceed it
    th = FilterThresholds(max_length_ratio=0.1)
    assert is_length_mismatch(words(100), words(n_parsed), th) is mismatch


def test_tail_unique_ratio_looks_only_at_the_tail():
    tokens = words(100) + ["loop"] * 50
    assert tail_unique_ratio(tokens, 50) == pytest.approx(1 / 50)
    assert tail_unique_ratio(tokens, 150) == pytest.approx(101 / 150)
    assert tail_unique_ratio([], 10) == 0.0


@pytest.mark.parametrize("distinct, repetitive", [(3, False), (2, True)])
def test_repetition_boundary(distinct, repetitive):
    # tail of 25 tokens: 3 distinct -> 0.12 (kept), 2 distinct -> 0.08 (rejected)
    th = FilterThresholds(tail_tokens=25, min_unique_ratio=0.12)
    tail = [f"t{i % distinct}" for i in range(25)]
    fine = words(30)
    assert is_repetitive(words(40, "x") + tail, fine, th) is repetitive
    assert is_repetitive(fine, words(40, "x") + tail, th) is repetitive


@pytest.mark.parametrize("similarity, dissimilar", [(0.5, False), (0.4999, True), (0.9, False)])
def test_similarity_boundary(similarity, dissimilar):
    assert is_dissimilar(similarity, FilterThresholds(min_similarity=0.5)) is dissimilar


def test_first_failure_reports_the_first_filter_in_order():
    th = FilterThresholds()
    text = " ".join(words(30))
    assert first_failure(text, text, 0.9, th) is None
    assert first_failure("too short", "too short", 0.1, th) == "too_short"
    looping = " ".join(["again"] * 30)
    assert first_failure(looping, " ".join(words(20)), 0.1, th) == "repetition"
    assert first_failure(text, " ".join(words(20)), 0.1, th) == "length_mismatch"
    assert first_failure(text, text, 0.2, th) == "low_similarity"
