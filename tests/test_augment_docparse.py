"""Document re-parsing: real OCR on rendered pages, filters, stats, unreadable pages."""

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from vtscale.augment import docparse
from vtscale.augment.config import AugmentConfig, DocsConfig
from vtscale.augment.embedders import make_embedder, pair_similarity
from vtscale.augment.filters import FILTERS
from vtscale.augment.page_parsers import RapidOCRParser, lines_in_reading_order
from vtscale.errors import InputError

NORMAL = ("The harbor master counts crates of fish beside the dock while an old captain "
          "repairs the long rope before dawn on the windy coast")


class HashingEmbedder:
    """Bag-of-words vectors: texts sharing words are similar (stands in for MiniLM)."""

    def embed(self, texts):
        vectors = np.zeros((len(texts), 256))
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, zlib.crc32(word.encode()) % 256] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)


def render_page(path, text, width=640):
    font = ImageFont.load_default(size=20)
    image = Image.new("RGB", (width, 400), "white")
    draw = ImageDraw.Draw(image)
    words, lines, line = text.split(), [], ""
    for word in words:
        if draw.textlength(f"{line} {word}", font=font) > width - 40:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    for i, line in enumerate(lines):
        draw.text((20, 20 + 30 * i), line, fill="black", font=font)
    image.save(path)


@pytest.fixture(scope="module")
def ocr():
    return RapidOCRParser()


@pytest.fixture
def world(tmp_path):
    (tmp_path / "pages").mkdir()
    docs = [
        {"id": "doc_ok", "image": "pages/ok.png", "text": NORMAL, "kind": "normal"},
        {"id": "doc_short", "image": "pages/short.png", "text": "References", "kind": "short"},
        {"id": "doc_corrupt", "image": "pages/corrupt.png", "text": NORMAL, "kind": "normal"},
        {"id": "doc_missing", "image": "pages/missing.png", "text": NORMAL, "kind": "normal"},
    ]
    render_page(tmp_path / "pages/ok.png", NORMAL)
    render_page(tmp_path / "pages/short.png", "References")
    (tmp_path / "pages/corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    return tmp_path


def test_rapidocr_reads_rendered_page_with_spaces(ocr, tmp_path):
    render_page(tmp_path / "p.png", NORMAL)
    text = ocr.parse([Image.open(tmp_path / "p.png")])[0]
    assert " ".join(text.split()) == NORMAL


def test_reading_order_groups_lines_then_left_to_right():
    box = lambda x, y: [[x, y], [x + 50, y], [x + 50, y + 20], [x, y + 20]]
    boxes = [box(200, 52), box(10, 10), box(10, 50), box(120, 12)]
    assert lines_in_reading_order(boxes, ["d", "a", "c", "b"]) == "a b\nc d"


def test_run_keeps_faithful_pages_and_counts_skips(world, ocr):
    records = docparse.read_docs(world / "docs.jsonl")
    conversations, stats = docparse.run(DocsConfig(), records, world, ocr, HashingEmbedder())
    assert [c["id"] for c in conversations] == ["doc_ok_doc"]
    conv = conversations[0]
    assert conv["source"] == "docs" and conv["image"] == "pages/ok.png"
    assert conv["conversations"][0]["value"].startswith("<image>\n")
    assert " ".join(conv["conversations"][1]["value"].split()) == NORMAL
    assert stats["pages"] == 4 and stats["parsed"] == 2 and stats["kept"] == 1
    assert stats["skipped"] == {"unreadable_image": 2}
    assert stats["rejected"] == {"too_short": 1, "repetition": 0, "length_mismatch": 0, "low_similarity": 0}
    assert set(stats["rejected"]) == set(FILTERS)
    assert sum(stats["similarity"]["histogram"]["counts"]) == 2
    assert len(stats["similarity"]["histogram"]["edges"]) == 21
    assert stats["per_kind"]["normal"] == {"pages": 3, "kept": 1, "unreadable_image": 2,
                                           "rejected": {f: 0 for f in FILTERS}}
    assert stats["per_kind"]["short"]["rejected"]["too_short"] == 1


def test_unreadable_page_is_logged_with_record_id(world, caplog):
    assert docparse.load_page({"id": "doc_corrupt", "image": "pages/corrupt.png"}, world) is None
    assert "doc_corrupt" in caplog.text


def test_docs_without_text_field_name_file_and_record(tmp_path):
    (tmp_path / "docs.jsonl").write_text(json.dumps({"id": "d1", "image": "p.png"}) + "\n")
    with pytest.raises(InputError, match=r"docs\.jsonl: record 1 \(d1\) lacks field 'text'"):
        docparse.read_docs(tmp_path / "docs.jsonl")


def test_minilm_similarity_separates_paraphrase_from_unrelated():
    embedder = make_embedder("minilm")
    sims = pair_similarity(embedder, ["The cat sits on the mat.", "The cat sits on the mat."],
                           ["A cat is sitting on a mat.", "Quarterly revenue grew by four percent."])
    assert sims[0] > 0.8 and sims[1] < 0.3


def tiny_nougat(folder):
    """A random Donut-Swin encoder + MBart decoder with a word-level Nougat tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (DonutSwinConfig, MBartConfig, NougatImageProcessor, NougatProcessor,
                              NougatTokenizerFast, VisionEncoderDecoderConfig, VisionEncoderDecoderModel)

    words = ["<s>", "<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(30)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = NougatTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>",
                                    pad_token="<pad>", unk_token="<unk>")
    processor = NougatProcessor(image_processor=NougatImageProcessor(size={"height": 64, "width": 48}),
                                tokenizer=tokenizer)
    encoder = DonutSwinConfig(image_size=[64, 48], patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2],
                              window_size=4)
    decoder = MBartConfig(vocab_size=len(words), d_model=32, decoder_layers=1, decoder_attention_heads=2,
                          decoder_ffn_dim=64, is_decoder=True, add_cross_attention=True,
                          max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 0, 1, 2
    torch.manual_seed(0)
    VisionEncoderDecoderModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_nougat_parser_batches_greedily(tmp_path, monkeypatch):
    from vtscale.augment.page_parsers import NougatParser, make_parser

    monkeypatch.setattr(NougatParser, "MAX_NEW_TOKENS", 6)
    parser = make_parser(str(tiny_nougat(tmp_path / "nougat")))
    assert isinstance(parser, NougatParser)
    parser.batch_size = 2
    pages = [Image.new("RGB", (100, 140), c) for c in ("white", "gray", "black")]
    batched = parser.parse(pages)
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    parser.batch_size = 1
    assert parser.parse(pages) == batched
    kwargs = parser.generation_kwargs()
    assert kwargs["bad_words_ids"] == [[3]] and kwargs["min_length"] == 1   # <unk> is id 3
    assert kwargs["do_sample"] is False and kwargs["max_new_tokens"] == 6


# ------------------------------------------------------------------ paper profile: <doc> pages
PAPER_YAML = Path(__file__).parents[1] / "config" / "paper.yaml"
SCHEMA_YAML = Path(__file__).parents[1] / "config" / "schema.yaml"
PAGE_TEXT = ("Scaling laws relate the loss of a model to its size and data while the number of "
             "vision tokens sets the cost of each image")


class PagesByWidth:
    """A parser that reads a page by its width and remembers the widths it was given."""

    def __init__(self, texts: dict[int, str]):
        self.texts, self.seen = texts, []

    def parse(self, images):
        self.seen += [im.width for im in images]
        return [self.texts[im.width] for im in images]


class RecordingEmbedder(HashingEmbedder):
    def __init__(self):
        self.texts = []

    def embed(self, texts):
        self.texts += texts
        return super().embed(texts)


def paper_docs() -> DocsConfig:
    from vtscale.config import config_section
    from vtscale.config_checks import load_profile

    return config_section(AugmentConfig, load_profile(PAPER_YAML, SCHEMA_YAML), "augment").docs


def struct_aware_parse(tmp_path):
    """DocStruct4M struct_aware_parse lines: a <doc> page, a <md> table, an untagged page."""
    answers = {"ccpdf.png": f"<doc>{PAGE_TEXT}</doc>", "table.png": "<md>| a | b |\n| 1 | 2 |</md>",
               "photo.png": "A street sign reading STOP at a crossing with two cars and a bus"}
    lines = []
    for width, (name, answer) in zip((100, 110, 120), answers.items()):
        Image.new("RGB", (width, 140), "white").save(tmp_path / name)
        lines.append({"image": [f"./{name}"], "task_name": "struct_aware_parse", "dataset_name": "x",
                      "messages": [{"role": "user", "content": "<|image|>Recognize text in the image."},
                                   {"role": "assistant", "content": answer}]})
    path = tmp_path / "struct_aware_parse.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_only_doc_pages_are_parsed_and_compared_without_tags(tmp_path):
    from vtscale.data.loaders import load_mplug_docs

    records = load_mplug_docs(struct_aware_parse(tmp_path))
    parser, embedder = PagesByWidth({100: f"\n{PAGE_TEXT}\n"}), RecordingEmbedder()
    cfg = DocsConfig(kinds=["doc"])
    conversations, stats = docparse.run(cfg, records, tmp_path, parser, embedder)
    assert parser.seen == [100]                                      # the <md> and untagged pages are not read
    assert embedder.texts == [PAGE_TEXT, PAGE_TEXT]                  # reference without <doc> tags, parse stripped
    assert [c["id"] for c in conversations] == ["struct_aware_parse_1_doc"]
    assert conversations[0]["conversations"][1]["value"] == PAGE_TEXT
    assert stats["pages"] == 3 and stats["parsed"] == 1 and stats["kept"] == 1
    assert stats["skipped"] == {"unreadable_image": 0, "kind_not_selected": 2}
    assert list(stats["per_kind"]) == ["doc"]
    # With the tags left in, "<", "doc", ">" and their closing twins are 6 more source tokens
    # (31 against 25: a length ratio of 0.19, over 0.1) and the page would be lost.
    tagged = [{**records[0], "text": f"<doc>{PAGE_TEXT}</doc>"}]
    assert docparse.run(cfg, tagged, tmp_path, parser, HashingEmbedder())[1]["rejected"]["length_mismatch"] == 1


def test_paper_thresholds_are_the_authors_sharded_run():
    from vtscale.augment.filters import first_failure

    paper, default = docparse.thresholds(paper_docs()), docparse.thresholds(DocsConfig())
    assert (paper.max_length_ratio, paper.min_similarity) == (0.2, 0.7)
    assert (default.max_length_ratio, default.min_similarity) == (0.1, 0.5)
    source = " ".join(f"w{i}" for i in range(20))
    shorter = " ".join(f"w{i}" for i in range(17))                   # length ratio 0.15
    assert first_failure(source, shorter, 0.75, paper) is None
    assert first_failure(source, shorter, 0.75, default) == "length_mismatch"
    assert first_failure(source, source, 0.6, paper) == "low_similarity"
    assert first_failure(source, source, 0.6, default) is None


def test_page_instructions_drawn_from_the_paper_pool():
    from vtscale.augment.prompts import READ_PAGE_INSTRUCTION

    pool = paper_docs().instructions
    record = {"id": "p0", "image": "pages/p0.png"}
    assert docparse.to_conversation(record, "text")["conversations"][0]["value"] == f"<image>\n{READ_PAGE_INSTRUCTION}"
    instructions = [docparse.to_conversation({**record, "id": f"p{i}"}, "text", pool, seed=0)
                    ["conversations"][0]["value"].removeprefix("<image>\n") for i in range(300)]
    verbs, purposes = pool.parts[0], pool.parts[3]
    assert all(text.split()[0] in verbs and text.rstrip(".").endswith(tuple(purposes)) for text in instructions)
    assert 0.6 < sum(text.endswith(".") for text in instructions) / 300 < 0.8     # period: 0.7
    assert len(set(instructions)) > 100
    again = docparse.to_conversation({**record, "id": "p7"}, "text", pool, seed=0)
    assert again["conversations"][0]["value"] == "<image>\n" + instructions[7]   # per page, not per run order


def test_docs_config_errors():
    from vtscale.augment.config import InstructionPool
    from vtscale.errors import ConfigError

    with pytest.raises(ConfigError, match=r"augment.docs.kinds"):
        DocsConfig(kinds=[])
    with pytest.raises(ConfigError, match=r"augment.docs.instructions.parts"):
        InstructionPool(parts=[["Read"], []])
