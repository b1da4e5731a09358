"""Chat formats. ChatML (``<|im_start|>role\\ncontent<|im_end|>\\n`` per message) is the
one format every chat LLM of the demo speaks: the bootstrap LM's, and SmolLM2-Instruct's
with its default system prompt. ``llama-2-vision`` is the format the paper's authors
trained and evaluated Llama-2-7B-chat with (``model.llm.chat_format``)."""

from __future__ import annotations

START, END = "<|im_start|>", "<|im_end|>"
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

_MESSAGE = "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
_GENERATION_PROMPT = "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"


def chatml(default_system: str | None = None) -> str:
    """The Jinja template; with ``default_system``, a conversation that opens without a
    system message gets that one."""
    default = ("{% if loop.first and messages[0]['role'] != 'system' %}"
               f"{{{{ '<|im_start|>system\\n{default_system}<|im_end|>\\n' }}}}"
               "{% endif %}") if default_system else ""
    return "{% for message in messages %}" + default + _MESSAGE + "{% endfor %}" + _GENERATION_PROMPT


# No default system prompt: every token of the prompt costs training time.
CHATML = chatml()


# The authors' `llama-2-vision` conversation format (a fastchat template registered in
# their tensorfusionvlm/chat_template_extend.py, rendered by their chat_parser.py): the
# Llama-2 [INST] layout with the Vicuna system message. Each piece is tokenized on its
# own, as their parser does, so token boundaries match theirs.
LLAMA2_VISION = "llama-2-vision"
LLAMA2_VISION_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                        "The assistant gives helpful, detailed, and polite answers to the "
                        "user's questions.")
CHAT_FORMATS = ("tokenizer", LLAMA2_VISION)   # "tokenizer": the LLM tokenizer's own template


def llama2_vision_system_piece(system: str) -> str:
    return f"[INST] <<SYS>>\n{system}\n<</SYS>>\n\n"
