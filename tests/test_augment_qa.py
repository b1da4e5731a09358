"""QA generation: record bookkeeping and batched generation."""

import logging
import random

import pytest
import torch

from vtscale import prompts as surface
from vtscale.augment import qa
from vtscale.augment.config import QAConfig
from vtscale.augment.qa_parse import DROP_REASONS, ChoiceItem
from vtscale.model.causal_lm import load_causal_lm

YES_NO_OUT = "Q: Is there a red circle? A: Yes\nQ: Is there a dog? A: Maybe"
MCQ_OUT = "Q: What color is the circle?\nA) red\nB) blue\nC) green\nD) yellow\nAnswer: A"
OPTIONS = {"A": "red", "B": "blue", "C": "green", "D": "yellow"}


def descriptions():
    return [
        {"id": "s0", "image": "images/s0.png", "description": "A red circle."},
        {"id": "s1", "image": "images/s1.png", "description": "   "},
        {"id": "s2", "image": "images/s2.png", "description": ""},
        {"id": "s3", "image": "images/s3.png", "description": "A red circle again."},
    ]


def test_run_skips_empty_descriptions_and_builds_conversations(monkeypatch, caplog):
    seen = []

    def fake_generate(model, tokenizer, conversations, batch_size, max_new_tokens):
        seen.extend(conversations)
        return [YES_NO_OUT, MCQ_OUT] * (len(conversations) // 2)

    monkeypatch.setattr(qa, "generate", fake_generate)
    with caplog.at_level(logging.WARNING):
        out, stats = qa.run(QAConfig(), descriptions(), model=None, tokenizer=None)
    assert "s1" in caplog.text and "s2" in caplog.text
    assert len(seen) == 4 and seen[-1][-1]["content"].endswith("A red circle again.")
    assert stats["skipped"] == {"empty_description": 2}
    assert stats["descriptions"] == 4
    assert stats["generated"] == 6 and stats["kept"] == 4 and stats["yield_percent"] == pytest.approx(66.67)
    assert list(stats["dropped"]) == list(DROP_REASONS)
    assert stats["dropped"]["answer_not_yes_no"] == 2 and sum(stats["dropped"].values()) == 2
    assert [r["id"] for r in out] == ["s0_qa", "s3_qa"]
    record = out[0]
    assert record["image"] == "images/s0.png" and record["source"] == "qa"
    turns = record["conversations"]
    assert turns[0] == {"from": "human", "value": "<image>\n" + surface.yes_no("Is there a red circle?")}
    assert turns[1] == {"from": "gpt", "value": "Yes"}
    shuffled = qa.shuffle_options(ChoiceItem("What color is the circle?", OPTIONS, "A"), random.Random("0:s0"))
    assert turns[2]["value"] == surface.multiple_choice("What color is the circle?", shuffled.options)
    assert shuffled.options[turns[3]["value"]] == "red"


def test_shuffle_options_keeps_the_answer_text_and_spreads_letters():
    item = ChoiceItem("What color is the circle?", OPTIONS, "C")
    letters = set()
    for k in range(40):
        shuffled = qa.shuffle_options(item, random.Random(k))
        assert sorted(shuffled.options.values()) == sorted(OPTIONS.values())
        assert shuffled.options[shuffled.answer] == "green"
        letters.add(shuffled.answer)
    assert letters == {"A", "B", "C", "D"}


def test_max_descriptions_limits_the_work(monkeypatch):
    monkeypatch.setattr(qa, "generate", lambda m, t, c, b, n: [YES_NO_OUT, MCQ_OUT] * (len(c) // 2))
    out, stats = qa.run(QAConfig(max_descriptions=1), descriptions(), None, None)
    assert stats["descriptions"] == 1 and len(out) == 1


def tiny_chat_model(tmp_path):
    """A random 2-layer Llama with a word-level tokenizer and a ChatML template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "user", "assistant", "system"]
    words += [f"w{i}" for i in range(40)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                        eos_token="<|im_end|>")
    tokenizer.chat_template = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> "
                               "{% endfor %}{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, eos_token_id=3)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    return tmp_path / "lm"


def test_batched_left_padded_generation_matches_one_by_one(tmp_path):
    model, tokenizer = load_causal_lm(tiny_chat_model(tmp_path), "augment.qa.generator")
    chats = [[{"role": "user", "content": "w1 w2 w3 w4 w5 w6"}], [{"role": "user", "content": "w7"}],
             [{"role": "user", "content": "w8 w9 w10"}]]
    batched = qa.generate(model, tokenizer, chats, batch_size=3, max_new_tokens=6)
    alone = [qa.generate(model, tokenizer, [c], batch_size=1, max_new_tokens=6)[0] for c in chats]
    assert batched == alone
    assert all(text.strip() for text in batched)


# ------------------------------------------------------------------ paper profile prompt and forms
def paper_qa() -> QAConfig:
    from pathlib import Path

    from vtscale.augment.config import AugmentConfig
    from vtscale.config import config_section
    from vtscale.config_checks import load_profile

    root = Path(__file__).parents[1] / "config"
    return config_section(AugmentConfig, load_profile(root / "paper.yaml", root / "schema.yaml"), "augment").qa


def test_paper_prompt_has_no_demo_world_in_it():
    import re

    from vtscale.augment import prompts
    from vtscale.data.synth import vocab

    cfg = paper_qa()
    assert (cfg.prompt, cfg.eval_prompt_forms) == ("instructions_only", False)
    demo_words = {*vocab.KINDS, *vocab.PLURALS.values(), *vocab.COLORS, *vocab.WORDS, "shapes"}
    description = "A man rides a horse along a beach at sunset."
    for chat in prompts.qa_messages(cfg.prompt, description):
        assert [m["role"] for m in chat] == ["system", "user"]              # no worked example
        assert chat[1]["content"].endswith(description)
        words = set(re.findall(r"[a-z]+", chat[0]["content"].lower()))
        assert not words & demo_words, words & demo_words
    # the demo prompt is the worked example, unchanged
    demo = prompts.qa_messages("demo_example", description)
    assert demo == (prompts.yes_no_messages(description), prompts.mcq_messages(description))
    assert "circle" in demo[0][1]["content"]


def test_questions_as_generated_when_eval_forms_are_off(monkeypatch):
    seen = []

    def fake_generate(model, tokenizer, conversations, batch_size, max_new_tokens):
        seen.extend(conversations)
        return [YES_NO_OUT, MCQ_OUT] * (len(conversations) // 2)

    monkeypatch.setattr(qa, "generate", fake_generate)
    cfg = QAConfig(prompt="instructions_only", eval_prompt_forms=False)
    out, _ = qa.run(cfg, descriptions()[:1], model=None, tokenizer=None)
    assert len(seen) == 2 and all(len(chat) == 2 for chat in seen)
    turns = out[0]["conversations"]
    assert turns[0]["value"] == "<image>\nIs there a red circle?"          # no " Please answer yes or no."
    shuffled = qa.shuffle_options(ChoiceItem("What color is the circle?", OPTIONS, "A"), random.Random("0:s0"))
    assert turns[2]["value"] == "What color is the circle?\n" + "\n".join(
        f"{letter}) {text}" for letter, text in shuffled.options.items())
    assert surface.MCQ_INSTRUCTION not in turns[2]["value"] and "Options:" not in turns[2]["value"]
    assert shuffled.options[turns[3]["value"]] == "red"


def test_unknown_qa_prompt_is_a_config_error():
    from vtscale.config import config_section
    from vtscale.errors import ConfigError

    with pytest.raises(ConfigError, match=r"augment.qa.prompt='fancy': expected one of demo_example"):
        config_section(QAConfig, {"augment": {"qa": {"prompt": "fancy"}}}, "augment.qa")
