"""Strict parsing of generated QA text: kept items and every drop reason."""

from vtscale.augment.qa_parse import ChoiceItem, YesNoItem, parse_multiple_choice, parse_yes_no


def test_yes_no_well_formed():
    result = parse_yes_no("Q: Is there a red circle? A: Yes\n\nQ: Is the word \"cat\" at the top? A: No\n")
    assert result.items == [YesNoItem("Is there a red circle?", "Yes"),
                            YesNoItem("Is the word \"cat\" at the top?", "No")]
    assert result.generated == 2 and not result.dropped


def test_yes_no_malformed_lines_are_counted_by_reason():
    text = "\n".join([
        "Here are some questions:",               # missing fields
        "Q: Is there a star? A:",                 # missing answer
        "Q: Is there a star? A: Maybe",           # not yes/no
        "Q: Is there a star? A: yes",             # strict: lower case is not accepted
        "Q: There is a star. A: Yes",             # no question mark
        "Q: Is there a blue square? A: No",       # kept
        "Q: Is there a Blue square? A: No",       # the same question again
    ])
    result = parse_yes_no(text)
    assert [i.question for i in result.items] == ["Is there a blue square?"]
    assert result.dropped == {"missing_fields": 2, "answer_not_yes_no": 2, "no_question_mark": 1,
                              "duplicate_question": 1}
    assert result.generated == 7


MCQ_OK = "Q: What color is the circle?\nA) red\nB) blue\nC) green\nD) yellow\nAnswer: A"


def test_multiple_choice_well_formed():
    second = MCQ_OK.replace("circle?", "star?").replace("Answer: A", "Answer: D")
    result = parse_multiple_choice(MCQ_OK + "\n\n" + second)
    assert result.items[0] == ChoiceItem("What color is the circle?",
                                         {"A": "red", "B": "blue", "C": "green", "D": "yellow"}, "A")
    assert [i.answer for i in result.items] == ["A", "D"]
    assert not result.dropped


def test_multiple_choice_malformed_blocks_are_counted_by_reason():
    blocks = [
        "Sure! Here you go.",                                               # stray text
        MCQ_OK.replace("D) yellow\n", ""),                                  # missing option
        MCQ_OK.replace("Answer: A", "Answer: E"),                           # not A-D
        MCQ_OK.replace("Answer: A", "Answer: the red one"),                 # not A-D
        MCQ_OK.replace("B) blue", "B) Red"),                                # duplicate option
        MCQ_OK.replace("circle?", "circle"),                                # no question mark
        MCQ_OK.replace("Answer: A", ""),                                    # truncated
        MCQ_OK.replace("C) green", "C) green\nE) pink"),                    # extra option
        MCQ_OK,                                                             # kept
        MCQ_OK.replace("Answer: A", "Answer: B"),                           # same question again
    ]
    result = parse_multiple_choice("\n\n".join(blocks))
    assert len(result.items) == 1
    assert result.dropped == {"missing_fields": 4, "answer_not_a_to_d": 2, "duplicate_options": 1,
                              "no_question_mark": 1, "duplicate_question": 1}
    assert result.generated == 10


def test_empty_output_generates_nothing():
    assert parse_yes_no("").generated == 0
    assert parse_multiple_choice("  \n ").generated == 0
