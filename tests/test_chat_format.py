"""The authors' llama-2-vision conversation format (model.llm.chat_format)."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from vtscale.config import config_section
from vtscale.errors import ConfigError
from vtscale.model.chat import IGNORE, llm_row
from vtscale.model.chat_template import LLAMA2_VISION_SYSTEM
from vtscale.model.config import ModelConfig

SYSTEM_PIECE = f"[INST] <<SYS>>\n{LLAMA2_VISION_SYSTEM}\n<</SYS>>\n\n"


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["[INST] is the square red? [/INST] yes </s>", LLAMA2_VISION_SYSTEM] * 4,
                            trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>")


def pieces(tokenizer, texts: list[str]) -> list[int]:
    return [i for text in texts for i in tokenizer(text, add_special_tokens=False)["input_ids"]]


def test_two_turns_render_piece_by_piece_with_slots_before_each_question(tokenizer):
    row = llm_row(tokenizer, ["Q one?", "Q two?"], ["yes", "no"], [3, 2], "llama-2-vision")
    slot = tokenizer.eos_token_id      # no pad token: the slot placeholder is EOS
    expected = (pieces(tokenizer, ["<s>", SYSTEM_PIECE]) + [slot] * 3
                + pieces(tokenizer, ["Q one?", "[/INST]", "yes </s>", "<s>[INST]"]) + [slot] * 2
                + pieces(tokenizer, ["Q two?", "[/INST]", "no </s>"]))
    assert row.ids == expected
    assert sum(row.is_fused) == 5
    text = tokenizer.decode([i for i, fused in zip(row.ids, row.is_fused) if not fused])
    assert text == f"<s>{SYSTEM_PIECE}Q one?[/INST]yes </s><s>[INST]Q two?[/INST]no </s>"


def test_only_answers_and_their_eos_are_labelled(tokenizer):
    row = llm_row(tokenizer, ["Q one?", "Q two?"], ["yes", "no"], [3, 2], "llama-2-vision")
    labelled = [i for i in row.labels if i != IGNORE]
    assert labelled == pieces(tokenizer, ["yes </s>", "no </s>"])
    assert labelled.count(tokenizer.eos_token_id) == 2


def test_generation_prompt_ends_at_the_closing_inst(tokenizer):
    row = llm_row(tokenizer, ["Q one?"], None, [4], "llama-2-vision")
    assert row.ids[-len(pieces(tokenizer, ["[/INST]"])):] == pieces(tokenizer, ["[/INST]"])
    assert all(label == IGNORE for label in row.labels)


def test_empty_system_message_puts_slots_before_the_inst_question_piece(tokenizer):
    row = llm_row(tokenizer, ["Q one?"], None, [2], "llama-2-vision", system_message="")
    slot = tokenizer.eos_token_id
    assert row.ids == pieces(tokenizer, ["<s>"]) + [slot] * 2 + pieces(tokenizer, ["[INST] Q one?", "[/INST]"])


def test_own_system_message_replaces_the_default(tokenizer):
    row = llm_row(tokenizer, ["Q?"], None, [1], "llama-2-vision", system_message="Be brief.")
    assert "<<SYS>>\nBe brief.\n<</SYS>>" in tokenizer.decode(row.ids)


def test_unknown_chat_format_names_the_key():
    with pytest.raises(ConfigError, match="model.llm.chat_format='vicuna'"):
        config_section(ModelConfig, {"model": {"llm": {"chat_format": "vicuna"}}}, "model")


def test_paper_profile_uses_the_authors_format(repo_root):
    import yaml
    paper = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    assert config_section(ModelConfig, paper, "model").llm.chat_format == "llama-2-vision"
