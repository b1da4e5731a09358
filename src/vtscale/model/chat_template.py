"""The ChatML chat template (``<|im_start|>role\\ncontent<|im_end|>\\n`` per message), the
one format every chat LLM of the demo speaks: the bootstrap LM's, and SmolLM2-Instruct's
with its default system prompt."""

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
