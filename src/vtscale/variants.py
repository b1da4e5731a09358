"""The study's variants, named once (paper Appendix D).

Stage 3 fine-tunes two kinds of model per (n, m) (``models/stage3/<kind>_n<N>_m<M>``):

- ``with_question``: the question text is part of the fusion input;
- ``without_question``: the question text is dropped from the fusion input.

Evaluation scores three variants (the ``variant`` column of scores.csv):

- ``question``: the with_question model, evaluated with the question;
- ``no_question_ft``: the without_question model, evaluated without the question
  (fine-tuned for it: "ft");
- ``no_question``: the with_question model, evaluated with the question dropped
  (not fine-tuned for it).
"""

from __future__ import annotations

WITH_QUESTION, WITHOUT_QUESTION = "with_question", "without_question"
STAGE3_MODELS = (WITH_QUESTION, WITHOUT_QUESTION)

QUESTION, NO_QUESTION_FT, NO_QUESTION = "question", "no_question_ft", "no_question"
EVAL_VARIANTS = (QUESTION, NO_QUESTION_FT, NO_QUESTION)

# Which stage-3 model each evaluation variant scores, and whether it sees the question.
MODEL_OF = {QUESTION: WITH_QUESTION, NO_QUESTION_FT: WITHOUT_QUESTION, NO_QUESTION: WITH_QUESTION}
SEES_QUESTION = {QUESTION: True, NO_QUESTION_FT: False, NO_QUESTION: False}


def model_uses_question(model: str) -> bool:
    return model == WITH_QUESTION
