"""Every prompt the augmentation stage sends or writes, in one place.

The QA prompts are chat conversations: a system instruction, worked examples as earlier
user/assistant turns (so even a 135M instruct model sees the exact line format), then
the description to work on. The line formats are the contract with ``qa_parse``.
"""

from __future__ import annotations

READ_PAGE_INSTRUCTION = "Read the text in this image."

YES_NO_SYSTEM = (
    "You write yes/no questions about an image from its description. "
    "Write one question per line in exactly this format:\n"
    "Q: <question>? A: Yes\n"
    "or\n"
    "Q: <question>? A: No\n"
    "Use only facts from the description. Write nothing else."
)

MCQ_SYSTEM = (
    "You write multiple-choice questions about an image from its description. "
    "Each question has four different options and one correct answer, in exactly this format:\n"
    "Q: <question>?\nA) <option>\nB) <option>\nC) <option>\nD) <option>\nAnswer: <letter>\n"
    "Leave one empty line between questions. Use only facts from the description. "
    "Write nothing else."
)

_EXAMPLE_DESCRIPTIONS = (
    "The image shows four shapes on a light background. A large red circle is in the top "
    "left. A small blue square is in the center. A green triangle is at the bottom. "
    "A small yellow star is on the right. The word \"cat\" is written in the top right.",
    "There are three shapes in the image. A purple cross is on the left. Two orange "
    "circles are at the bottom. The word \"book\" is written in the center.",
)

_EXAMPLE_YES_NO = (
    "Q: Is there a red circle in the image? A: Yes\n"
    "Q: Is the blue square at the bottom? A: No\n"
    "Q: Is the word \"cat\" written in the image? A: Yes\n"
    "Q: Are there exactly two stars in the image? A: No",
    "Q: Is there a purple cross in the image? A: Yes\n"
    "Q: Are there exactly two orange circles? A: Yes\n"
    "Q: Is there a green square in the image? A: No\n"
    "Q: Is the word \"dog\" written in the image? A: No",
)

_EXAMPLE_MCQ = (
    "Q: What color is the circle?\nA) blue\nB) green\nC) red\nD) yellow\nAnswer: C\n"
    "\n"
    "Q: Where is the small blue square?\nA) in the center\nB) on the left\nC) at the top\n"
    "D) in the bottom right\nAnswer: A\n"
    "\n"
    "Q: How many shapes are in the image?\nA) two\nB) four\nC) five\nD) seven\nAnswer: B",
    "Q: Which word is written in the image?\nA) book\nB) lamp\nC) tree\nD) fish\nAnswer: A\n"
    "\n"
    "Q: What shape is purple?\nA) circle\nB) star\nC) cross\nD) square\nAnswer: C\n"
    "\n"
    "Q: How many orange circles are there?\nA) one\nB) three\nC) four\nD) two\nAnswer: D",
)


def _user_turn(description: str) -> str:
    return f"Description: {description.strip()}"


def _few_shot(system: str, answers: tuple[str, ...], description: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}]
    for example, answer in zip(_EXAMPLE_DESCRIPTIONS, answers):
        messages += [{"role": "user", "content": _user_turn(example)},
                     {"role": "assistant", "content": answer}]
    messages.append({"role": "user", "content": _user_turn(description)})
    return messages


def yes_no_messages(description: str) -> list[dict[str, str]]:
    return _few_shot(YES_NO_SYSTEM, _EXAMPLE_YES_NO, description)


def mcq_messages(description: str) -> list[dict[str, str]]:
    return _few_shot(MCQ_SYSTEM, _EXAMPLE_MCQ, description)
