"""``vtscale bootstrap-lm``: demo only. A small Llama (sizes from model.llm) trained with
the causal LM loss on the world's text: descriptions, and conversations rendered with a
ChatML template both plain and with the scene's description in the first user turn (so,
like a pretrained chat LLM, it can answer from facts given in its context). Its tokenizer is SmolLM2's byte-level BPE retrained on that text
(``train_new_from_iterator``, at most model.llm.vocab_size tokens): the world needs under
a thousand tokens, and a 49k-row output layer would cost most of every training step.
The output is a ``save_pretrained`` folder (model + tokenizer with its chat template),
plus ``metrics.csv`` (loss curve) and ``summary.json``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Mapping

import torch
from torch.utils.data import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from vtscale.config import ConfigError
from vtscale.data.conversations import read_turns
from vtscale.data.descriptions import description_text, read_descriptions, with_text
from vtscale.errors import InputError
from vtscale.model.causal_lm import load_tokenizer
from vtscale.model.chat_template import CHATML, END, START
from vtscale.train.config import BootstrapLMConfig
from vtscale.train.loop import Task
from vtscale.train.outputs import backbone_config, backbone_parser, train_backbone

log = logging.getLogger(__name__)

BLOCK_SIZE = 128


def world_tokenizer(base, texts: list[str], vocab_size: int):
    """``base``'s byte-level BPE retrained on the world's text, with a ChatML template."""
    tokenizer = base.train_new_from_iterator(texts, vocab_size=vocab_size)
    tokenizer.chat_template = CHATML
    for token in (START, END):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise InputError(f"tokenizer lacks the chat token {token}")
    tokenizer.eos_token = tokenizer.pad_token = END
    return tokenizer


def raw_texts(descriptions: list[tuple[str, str]], conversations: list[tuple[str, list]]) -> list[str]:
    """Every description and every turn's text, to fit the tokenizer on."""
    texts = [text for _, text in descriptions]
    for _, turns in conversations:
        for turn in turns:
            texts += [turn.question, turn.answer]
    return texts


def llama_config(llm: Mapping[str, Any], tokenizer) -> LlamaConfig:
    try:
        return LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=llm["hidden_size"],
            intermediate_size=llm["intermediate_size"], num_hidden_layers=llm["layers"],
            num_attention_heads=llm["heads"], num_key_value_heads=llm["heads"],
            max_position_embeddings=2048, tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id)
    except KeyError as err:
        raise ConfigError(f"config error: model.llm.{err.args[0]} is required for bootstrap") from None


def description_texts(path: str | Path) -> list[tuple[str, str]]:
    """(image, description) per record with a description."""
    usable, _ = with_text(read_descriptions(path))
    return [(record["image"], description_text(record)) for record in usable]


def conversation_texts(conversations: list[tuple[str, list]], tokenizer,
                       context: dict[str, str] | None = None) -> list[str]:
    """Each conversation as the chat template renders it for the LLM at stage 2. With
    ``context`` (image -> description), the description opens the first user turn: the
    LLM learns to answer from scene facts in its context, the role the fused vision
    tokens take later (a frozen LLM cannot learn to read them any other way)."""
    texts = []
    for image, turns in conversations:
        prefix = (context or {}).get(image, "")
        messages = []
        for k, turn in enumerate(turns):
            question = f"{prefix}\n{turn.question}" if prefix and k == 0 else turn.question
            messages += [{"role": "user", "content": question},
                         {"role": "assistant", "content": turn.answer}]
        texts.append(tokenizer.apply_chat_template(messages, tokenize=False))
    return texts


class PackedText(Dataset):
    """All texts tokenized, joined by EOS and cut into equal blocks (GPT-style packing)."""

    def __init__(self, texts: list[str], tokenizer, block_size: int = BLOCK_SIZE):
        eos = tokenizer.eos_token_id
        stream: list[int] = []
        for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
            stream += ids + [eos]
        n_blocks = len(stream) // block_size
        if n_blocks == 0:
            raise InputError(f"text corpus has {len(stream)} tokens, fewer than one "
                             f"block of {block_size}")
        self.blocks = torch.tensor(stream[: n_blocks * block_size]).view(n_blocks, block_size)

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.blocks[index]


def collate_blocks(blocks: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"input_ids": torch.stack(blocks)}


def causal_lm_loss(model, batch) -> dict:
    """Full-vocabulary next-token loss: the frozen LLM's softmax must already put the
    tokens the world never uses far down, or every later stage pays for them."""
    return {"loss": model(input_ids=batch["input_ids"], labels=batch["input_ids"]).loss}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = backbone_parser("vtscale bootstrap-lm", __doc__)
    parser.add_argument("--conversations", required=True)
    parser.add_argument("--tokenizer", required=True,
                        help="folder with the SmolLM2 tokenizer (retrained on the world's text)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_cfg, cfg = backbone_config(BootstrapLMConfig, args.cfg, "lm")
    vocab_size = cfg["model"]["llm"].get("vocab_size", 4096)
    descriptions = description_texts(args.descriptions)
    conversations = read_turns(args.conversations)
    tokenizer = world_tokenizer(load_tokenizer(args.tokenizer, "--tokenizer"),
                                raw_texts(descriptions, conversations), vocab_size)
    context = {image: text for image, text in descriptions if image}
    texts = ([text for _, text in descriptions] + conversation_texts(conversations, tokenizer)
             + conversation_texts(conversations, tokenizer, context))
    dataset = PackedText(texts, tokenizer)
    torch.manual_seed(train_cfg.seed)
    model = LlamaForCausalLM(llama_config(cfg["model"]["llm"], tokenizer))
    log.info("bootstrap LM: %d texts, %d blocks of %d tokens, %.2fM parameters", len(texts),
             len(dataset), BLOCK_SIZE, model.num_parameters() / 1e6)
    task = Task(model=model, parameters=list(model.parameters()), dataset=dataset,
                collate=collate_blocks, loss=causal_lm_loss)
    def save(trained, folder: Path) -> None:
        trained.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    train_backbone(task, train_cfg, args.ckpt_dir, args.out, "bootstrap_lm", save,
                   inputs=[args.descriptions, args.conversations, args.tokenizer],
                   texts=len(texts), blocks=len(dataset), block_size=BLOCK_SIZE)
    return 0
