"""The one causal-LM loader, its pad-token rule and the ChatML chat template."""

from types import SimpleNamespace

import pytest

from vtscale.errors import InputError
from vtscale.model.causal_lm import ensure_pad_token, load_causal_lm, load_tokenizer, pad_id
from vtscale.model.chat_template import CHATML, SMOLLM2_SYSTEM, chatml


def save_tokenizer(folder, template: str | None, pad: str | None = "<pad>"):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "user", "assistant", "system", "hi"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>",
                                        **({"pad_token": pad} if pad else {}))
    tokenizer.chat_template = template
    tokenizer.save_pretrained(folder)
    return folder


def render(template: str, messages: list[dict], generation_prompt: bool = False) -> str:
    from jinja2 import Environment

    return Environment().from_string(template).render(messages=messages,
                                                      add_generation_prompt=generation_prompt)


def test_missing_local_folder_names_it_and_the_setting(tmp_path):
    with pytest.raises(InputError, match=r"^augment\.qa\.generator: local folder .*nope not found"):
        load_causal_lm(tmp_path / "nope", "augment.qa.generator")


def test_unreachable_hub_model_is_one_line_naming_id_and_offline_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    with pytest.raises(InputError) as err:
        load_causal_lm("meta-llama/Meta-Llama-3-8B-Instruct", "augment.qa.generator")
    message = str(err.value)
    assert "meta-llama/Meta-Llama-3-8B-Instruct" in message and "HF_HUB_OFFLINE" in message
    assert "augment.qa.generator" in message and "\n" not in message


def test_tokenizer_without_chat_template_is_refused_unless_a_default_is_given(tmp_path):
    folder = save_tokenizer(tmp_path / "tok", template=None)
    with pytest.raises(InputError, match=r"^--tokenizer: .*tok: the tokenizer has no chat template"):
        load_tokenizer(folder, "--tokenizer")
    assert load_tokenizer(folder, "--tokenizer", default_template=CHATML).chat_template == CHATML


def test_a_folder_that_is_no_model_names_it(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(InputError, match=r"^theory\.llms: cannot load '.*empty'"):
        load_causal_lm(folder, "theory.llms")


def test_pad_rule_falls_back_to_eos(tmp_path):
    assert pad_id(SimpleNamespace(pad_token_id=0, eos_token_id=3)) == 0
    assert pad_id(SimpleNamespace(pad_token_id=None, eos_token_id=3)) == 3
    tokenizer = load_tokenizer(save_tokenizer(tmp_path / "tok", CHATML, pad=None), "--tokenizer")
    assert tokenizer.pad_token == tokenizer.eos_token == "<|im_end|>"
    ensure_pad_token(tokenizer)
    assert pad_id(tokenizer) == tokenizer.eos_token_id


def test_chatml_renders_each_message_and_the_generation_prompt():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    assert render(CHATML, messages[:1], generation_prompt=True) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    assert render(CHATML, messages) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"


def test_default_system_prompt_only_opens_a_conversation_without_one():
    template = chatml(SMOLLM2_SYSTEM)
    assert render(template, [{"role": "user", "content": "hi"}]) == (
        f"<|im_start|>system\n{SMOLLM2_SYSTEM}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n")
    own = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert render(template, own) == "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
