"""Prompt surface forms shared by the demo world's training conversations and the
evaluator, so that what the model is trained on matches what VLMEvalKit asks.
The evaluator (vtscale.eval.prompts) builds benchmark prompts from these."""

YES_NO_SUFFIX = " Please answer yes or no."
SHORT_ANSWER_SUFFIX = "\nAnswer the question using a single word or phrase."
MCQ_INSTRUCTION = "Please select the correct answer from the options above."
CAPTION_PROMPT = (
    "Please describe this image in general. Directly provide the description, "
    'do not include prefix like "This image depicts". '
)


def yes_no(question: str) -> str:
    return question.rstrip() + YES_NO_SUFFIX


def short_answer(question: str) -> str:
    return question.rstrip() + SHORT_ANSWER_SUFFIX


def multiple_choice(question: str, options: dict[str, str], hint: str | None = None) -> str:
    # VLMEvalKit's exact layout (ImageMCQDataset.build_prompt): every line ends in "\n",
    # the instruction in " \n", and without options neither block is added.
    text = f"Hint: {hint}\n" if hint else ""
    text += f"Question: {question}\n"
    if options:
        text += "Options:\n" + "".join(f"{letter}. {value}\n" for letter, value in options.items())
        text += MCQ_INSTRUCTION + " \n"
    return text
