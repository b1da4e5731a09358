"""LLM inputs: a conversation as token ids with fused-token slots.

Two formats (``model.llm.chat_format``). ``tokenizer``: the tokenizer's own chat
template; each user message is rendered as ``<slot>question`` and the rendered
conversation is split at the slots and at each assistant answer. ``llama-2-vision``:
the authors' format, built piece by piece. Either way the fused tokens land right
before each question and only the answer and its end-of-turn token are labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vtscale.model.causal_lm import pad_id
from vtscale.model.chat_template import LLAMA2_VISION, LLAMA2_VISION_SYSTEM, llama2_vision_system_piece

SLOT = "<|vtscale_fused_tokens|>"
IGNORE = -100


@dataclass
class LLMRow:
    ids: list[int] = field(default_factory=list)
    is_fused: list[bool] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def add_text(self, tokenizer, text: str, labelled: bool = False) -> None:
        if not text:
            return
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        self.add_ids(ids, labelled)

    def add_ids(self, ids: list[int], labelled: bool) -> None:
        self.ids += ids
        self.is_fused += [False] * len(ids)
        self.labels += list(ids) if labelled else [IGNORE] * len(ids)

    def add_fused(self, count: int, slot_id: int) -> None:
        self.ids += [slot_id] * count
        self.is_fused += [True] * count
        self.labels += [IGNORE] * count


def _render(tokenizer, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=generation_prompt)


def _new_part(full: str, done: str, what: str) -> str:
    if not full.startswith(done):
        raise ValueError(f"the LLM chat template does not render {what} as an extension "
                         "of the conversation so far; cannot place fused tokens")
    return full[len(done):]


def llm_row(tokenizer, questions: list[str], answers: list[str] | None, counts: list[int],
            chat_format: str = "tokenizer", system_message: str | None = None) -> LLMRow:
    """Token row for one conversation. ``answers=None`` builds a generation prompt
    for the questions (single turn in practice); ``counts[k]`` fused slots before
    question k. ``system_message`` (llama-2-vision only): None for the format's own,
    "" for none."""
    if chat_format == LLAMA2_VISION:
        system = LLAMA2_VISION_SYSTEM if system_message is None else system_message
        return llama2_vision_row(tokenizer, questions, answers, counts, system)
    return template_row(tokenizer, questions, answers, counts)


def template_row(tokenizer, questions: list[str], answers: list[str] | None,
                 counts: list[int]) -> LLMRow:
    """``llm_row`` with the tokenizer's own chat template."""
    row = LLMRow()
    slot_id = pad_id(tokenizer)   # a placeholder: the fused tokens replace its embedding
    messages: list[dict] = []
    done = ""
    for k, question in enumerate(questions):
        messages.append({"role": "user", "content": SLOT + question})
        prompt = _render(tokenizer, messages, generation_prompt=True)
        before, after = _new_part(prompt, done, "a user turn").split(SLOT)
        row.add_text(tokenizer, before)
        row.add_fused(counts[k], slot_id)
        row.add_text(tokenizer, after)
        done = prompt
        if answers is None:
            continue
        messages.append({"role": "assistant", "content": answers[k]})
        full = _render(tokenizer, messages, generation_prompt=False)
        _add_answer(row, tokenizer, _new_part(full, done, "an assistant turn"))
        done = full
    return row


def _add_answer(row: LLMRow, tokenizer, text: str) -> None:
    """Label the answer up to and including the end-of-turn token; the template's
    trailing text after it (e.g. a newline) stays unlabelled."""
    eos = tokenizer.eos_token
    cut = text.find(eos) if eos else -1
    if cut < 0:
        row.add_text(tokenizer, text, labelled=True)
        row.add_ids([tokenizer.eos_token_id], labelled=True)
        return
    row.add_text(tokenizer, text[: cut + len(eos)], labelled=True)
    row.add_text(tokenizer, text[cut + len(eos):])


def llama2_vision_row(tokenizer, questions: list[str], answers: list[str] | None,
                      counts: list[int], system: str) -> LLMRow:
    """``llm_row`` in the authors' llama-2-vision format, one piece tokenized at a time:
    ``<s>`` ``[INST] <<SYS>>...<</SYS>>\\n\\n`` slots ``Q1`` ``[/INST]`` ``A1 </s>``
    ``<s>[INST]`` slots ``Q2`` ``[/INST]`` ``A2 </s>`` ... (with no system message the
    first question's piece is ``[INST] Q1``, its slots before it)."""
    row = LLMRow()
    slot_id = pad_id(tokenizer)
    row.add_text(tokenizer, "<s>")
    for k, question in enumerate(questions):
        if k == 0 and not system:
            question = "[INST] " + question
        else:
            row.add_text(tokenizer, llama2_vision_system_piece(system) if k == 0 else "<s>[INST]")
        row.add_fused(counts[k], slot_id)
        row.add_text(tokenizer, question)
        row.add_text(tokenizer, "[/INST]")
        if answers is not None:
            row.add_text(tokenizer, f"{answers[k]} </s>", labelled=True)
    return row
