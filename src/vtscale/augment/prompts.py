"""Every prompt the augmentation stage sends or writes, in one place.

The QA prompts are chat conversations. ``demo_example``: a system instruction, a worked
demo-world example as earlier user/assistant turns (so even a 135M instruct model sees
the exact line format), then the description. ``instructions_only`` (paper): a longer
system instruction with no example, then the description, so nothing of the demo world
leaks into the questions about real images. The line formats are the contract with
``qa_parse``.
"""

from __future__ import annotations

import random

from vtscale.augment.config import InstructionPool

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

# One worked example per task: each example turn costs prefill time on every call, and
# with a 135M model a second example did not raise the yield.
_EXAMPLE_DESCRIPTION = (
    "The image shows four colored shapes on a white background. There are two circles, one "
    "square and one star. A large red circle sits in the top left. A small blue square is in "
    "the center. A green circle is at the bottom. The word \"cat\" is written on the right."
)

_EXAMPLE_YES_NO = (
    "Q: Is there a red circle in the image? A: Yes\n"
    "Q: Is the blue square at the bottom? A: No\n"
    "Q: Is the word \"cat\" written in the image? A: Yes\n"
    "Q: Is there a yellow triangle in the image? A: No\n"
    "Q: Are there exactly two circles in the image? A: Yes"
)

_EXAMPLE_MCQ = (
    "Q: What color is the large circle?\nA) blue\nB) green\nC) red\nD) yellow\nAnswer: C\n"
    "\n"
    "Q: Where is the small blue square?\nA) in the center\nB) on the left\nC) at the top\n"
    "D) in the bottom right\nAnswer: A\n"
    "\n"
    "Q: Which word is written in the image?\nA) dog\nB) cat\nC) tree\nD) fish\nAnswer: B"
)


def _user_turn(description: str) -> str:
    return f"Description: {description.strip()}"


def _few_shot(system: str, answer: str, description: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system},
            {"role": "user", "content": _user_turn(_EXAMPLE_DESCRIPTION)},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": _user_turn(description)}]


def yes_no_messages(description: str) -> list[dict[str, str]]:
    return _few_shot(YES_NO_SYSTEM, _EXAMPLE_YES_NO, description)


def mcq_messages(description: str) -> list[dict[str, str]]:
    return _few_shot(MCQ_SYSTEM, _EXAMPLE_MCQ, description)


# Instructions only: what a good question is, spelled out instead of shown.
_GROUNDING = (
    "The description stands for the image: ask about what can be seen in the image (objects, "
    "people, their attributes, numbers, positions, actions and any visible text), never about "
    "the description itself, and use only facts the description states."
)

YES_NO_INSTRUCTIONS = (
    "You turn the description of an image into yes/no questions about that image. "
    + _GROUNDING + " Write up to eight questions, about as many answered No as Yes; a question "
    "answered No names something the description rules out or does not mention. "
    "Write one question per line in exactly this format:\n"
    "Q: <question>? A: Yes\n"
    "or\n"
    "Q: <question>? A: No\n"
    "Write nothing else."
)

MCQ_INSTRUCTIONS = (
    "You turn the description of an image into multiple-choice questions about that image. "
    + _GROUNDING + " Write up to four questions. Each has four different options of the same "
    "type, exactly one of them correct; the wrong options must be plausible for the image but "
    "contradicted by the description. Use exactly this format:\n"
    "Q: <question>?\nA) <option>\nB) <option>\nC) <option>\nD) <option>\nAnswer: <letter>\n"
    "Leave one empty line between questions. Write nothing else."
)


def _instructions_only(system: str, description: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system},
            {"role": "user", "content": _user_turn(description)}]


def qa_messages(prompt: str, description: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(yes/no chat, multiple-choice chat) for ``description`` under ``augment.qa.prompt``."""
    if prompt == "demo_example":
        return yes_no_messages(description), mcq_messages(description)
    return (_instructions_only(YES_NO_INSTRUCTIONS, description),
            _instructions_only(MCQ_INSTRUCTIONS, description))


def page_instruction(pool: InstructionPool | None, rng: random.Random) -> str:
    """The instruction of a re-parsed page: READ_PAGE_INSTRUCTION, or one drawn from
    ``augment.docs.instructions`` (an InstructionPool)."""
    if pool is None:
        return READ_PAGE_INSTRUCTION
    text = " ".join(rng.choice(part) for part in pool.parts)
    return text + "." if rng.random() < pool.period else text
