"""``vtscale bootstrap-lm``: demo only. A small Llama (sizes from model.llm) that does
what the paper's frozen chat LLM does for the VLM: answer from whatever its context
says. It trains on whole conversations rendered exactly as stage 2 renders them
(vtscale.model.chat), each opened by the scene's structured line (vtscale.data.scene_text), its
natural description, or nothing, in the slot where the fused tokens go later; the loss
is on the answers alone. Weights start at std hidden_size ** -0.5 (transformers' 0.02
is far too small at width 128). Conversations of held-out scenes measure the reading
gate (vtscale.train.lm_gate) during and after training.

Its tokenizer is SmolLM2's byte-level BPE retrained on the world's text
(``train_new_from_iterator``, at most model.llm.vocab_size tokens): the world needs under
a thousand tokens, and a 49k-row output layer would cost most of every training step.
The output is a ``save_pretrained`` folder (model + tokenizer with its chat template),
plus ``metrics.csv`` (loss curve), ``summary.json`` and ``gates.json``."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch.utils.data import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from vtscale.data.conversations import read_turns
from vtscale.data.descriptions import description_text, read_descriptions, with_text
from vtscale.data.question_kinds import question_kind
from vtscale.data.sample import Turn
from vtscale.data.scene_text import structured_scene
from vtscale.data.scenes import iter_scenes
from vtscale.errors import ConfigError, InputError
from vtscale.model.causal_lm import load_tokenizer, pad_id
from vtscale.model.chat import IGNORE, template_row
from vtscale.model.chat_template import CHATML, END, START
from vtscale.train.config import BootstrapLMConfig
from vtscale.train.gates import GATE_FILE, write_gate
from vtscale.train.gate_curve import GateCurve
from vtscale.train.lm_gate import ProbeItem, curve_figures, per_kind, reading_gate, with_context
from vtscale.train.loop import Task
from vtscale.train.outputs import backbone_config, backbone_parser, train_backbone

log = logging.getLogger(__name__)

GATE_KINDS = ("existence", "color_yn", "count_yn", "word_yn", "position_yn",
              "count", "color", "word", "position", "mcq")
CURVE_ITEMS_PER_KIND = 40     # a curve point scores this many questions per kind
GATE_ITEMS_PER_KIND = 200


@dataclass(frozen=True)
class SceneTexts:
    """What may open a conversation about one image: its structured line, its description."""
    structured: str
    description: str

    def context(self, kind: str) -> str:
        return "" if kind == "none" else getattr(self, kind)


def world_tokenizer(base, texts: list[str], vocab_size: int):
    """``base``'s byte-level BPE retrained on the world's text, with a ChatML template."""
    tokenizer = base.train_new_from_iterator(texts, vocab_size=vocab_size)
    tokenizer.chat_template = CHATML
    for token in (START, END):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise InputError(f"tokenizer lacks the chat token {token}")
    tokenizer.eos_token = tokenizer.pad_token = END
    return tokenizer


def raw_texts(scene_texts: dict[str, SceneTexts], conversations: list[tuple[str, list]]) -> list[str]:
    """Every context and every turn's text, to fit the tokenizer on."""
    texts = [t for st in scene_texts.values() for t in (st.structured, st.description)]
    for _, turns in conversations:
        for turn in turns:
            texts += [turn.question, turn.answer]
    return texts


def llama_config(llm: Mapping[str, Any], tokenizer, init_std: float | None) -> LlamaConfig:
    try:
        return LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=llm["hidden_size"],
            intermediate_size=llm["intermediate_size"], num_hidden_layers=llm["layers"],
            num_attention_heads=llm["heads"], num_key_value_heads=llm["heads"],
            max_position_embeddings=2048, tie_word_embeddings=True,
            initializer_range=init_std or llm["hidden_size"] ** -0.5,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id)
    except KeyError as err:
        raise ConfigError(f"config error: model.llm.{err.args[0]} is required for bootstrap") from None


def read_scene_texts(scenes: str | Path, descriptions: str | Path, image_size: int) -> dict[str, SceneTexts]:
    """Image (as written in the world's files) -> its structured line and description."""
    usable, _ = with_text(read_descriptions(descriptions))
    natural = {record["image"]: description_text(record) for record in usable}
    return {record["image"]: SceneTexts(structured_scene(record, image_size), natural.get(record["image"], ""))
            for _, record in iter_scenes(scenes, boxes=True)}


def split_held_out(conversations: list[tuple[str, list[Turn]]], held_out: int):
    """(training, held-out) conversations: the last ``held_out`` images are never trained on."""
    if held_out >= len(conversations):
        raise ConfigError(f"config error: bootstrap.lm.held_out={held_out} leaves no training "
                          f"conversations of {len(conversations)}")
    return conversations[:-held_out], conversations[-held_out:]


def sample_turns(turns: list[Turn], samples: str) -> list[list[Turn]]:
    """The conversation whole, or each question on its own (as stage 2 asks it with
    ``samples: question``)."""
    return [turns] if samples == "conversation" else [[turn] for turn in turns]


class ContextConversations(Dataset):
    """(context, conversation or single question) samples as stage 2 lays them out: the
    context where the fused tokens go, the loss on the answers and their end-of-turn tokens."""

    def __init__(self, conversations: list[tuple[str, list[Turn]]], scene_texts: dict[str, SceneTexts],
                 contexts: tuple[str, ...], tokenizer, samples: str = "conversation"):
        self.rows = []
        for image, all_turns in conversations:
            if image not in scene_texts:
                raise InputError(f"conversations: image {image!r} has no scene in scenes.jsonl")
            for turns in sample_turns(all_turns, samples):
                for kind in contexts:
                    self.rows.append(context_row(tokenizer, scene_texts[image].context(kind), turns))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rows[index]


def context_row(tokenizer, context: str, turns: list[Turn]) -> tuple[torch.Tensor, torch.Tensor]:
    questions = [with_context(context, turns[0].question)] + [t.question for t in turns[1:]]
    row = template_row(tokenizer, questions, [t.answer for t in turns], [0] * len(turns))
    return torch.tensor(row.ids), torch.tensor(row.labels)


class PadCollate:
    def __init__(self, pad: int):
        self.pad = pad

    def __call__(self, rows: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for k, (row_ids, row_labels) in enumerate(rows):
            ids[k, :len(row_ids)], labels[k, :len(row_ids)], mask[k, :len(row_ids)] = row_ids, row_labels, 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def answer_loss(model, batch) -> dict:
    """Next-token loss on the answer tokens over the full vocabulary; the LM head runs
    on the labelled positions alone (most of a sample is context and questions)."""
    hidden = model.get_decoder()(input_ids=batch["input_ids"],
                                 attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = model.get_output_embeddings()(hidden[:, :-1][keep]).float()
    return {"loss": torch.nn.functional.cross_entropy(logits, targets[keep])}


def probe_items(conversations: list[tuple[str, list[Turn]]],
                scene_texts: dict[str, SceneTexts]) -> list[ProbeItem]:
    """Every question of the held-out conversations whose kind the gate reports."""
    items = []
    for image, turns in conversations:
        texts = scene_texts[image]
        contexts = {"structured": texts.structured, "description": texts.description, "blind": ""}
        for turn in turns:
            kind = question_kind(turn.question)
            if kind in GATE_KINDS:
                items.append(ProbeItem(kind, turn.question, turn.answer, contexts))
    return items


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = backbone_parser("vtscale bootstrap-lm", __doc__)
    parser.add_argument("--conversations", required=True, help="the world's conversations.json")
    parser.add_argument("--scenes", required=True, help="the world's scenes.jsonl (structured lines)")
    parser.add_argument("--tokenizer", required=True,
                        help="folder with the SmolLM2 tokenizer (retrained on the world's text)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_cfg, cfg = backbone_config(BootstrapLMConfig, args.cfg, "lm")
    image_size = int(cfg.get("world", {}).get("image_size", 224))
    scene_texts = read_scene_texts(args.scenes, args.descriptions, image_size)
    conversations = read_turns(args.conversations)
    training, held_out = split_held_out(conversations, train_cfg.held_out)
    tokenizer = world_tokenizer(load_tokenizer(args.tokenizer, "--tokenizer"),
                                raw_texts(scene_texts, conversations),
                                cfg["model"]["llm"].get("vocab_size", 4096))
    dataset = ContextConversations(training, scene_texts, train_cfg.contexts, tokenizer, train_cfg.samples)
    items = probe_items(held_out, scene_texts)
    curve_items = per_kind(items, CURVE_ITEMS_PER_KIND)
    torch.manual_seed(train_cfg.seed)
    model = LlamaForCausalLM(llama_config(cfg["model"]["llm"], tokenizer, train_cfg.init_std))
    log.info("bootstrap LM: %d samples (%s, %s contexts), %d held-out questions, %.2fM parameters",
             len(dataset), train_cfg.samples, "/".join(train_cfg.contexts), len(items),
             model.num_parameters() / 1e6)

    def measure() -> dict[str, float]:
        figures = curve_figures(model, tokenizer, curve_items)
        log.info("reading gate: %s", ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        return figures

    curve = GateCurve(measure, train_cfg.gate_every, args.ckpt_dir)

    def save(trained, folder: Path) -> None:
        trained.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        write_gate(folder / GATE_FILE,
                   reading_gate(trained, tokenizer, per_kind(items, GATE_ITEMS_PER_KIND), curve.points()))

    task = Task(model=model, parameters=list(model.parameters()), dataset=dataset,
                collate=PadCollate(pad_id(tokenizer)), loss=answer_loss)
    train_backbone(task, train_cfg, args.ckpt_dir, args.out, "bootstrap_lm", save,
                   inputs=[args.descriptions, args.conversations, args.scenes, args.tokenizer],
                   on_step=curve, samples=len(dataset), held_out_questions=len(items))
    return 0
