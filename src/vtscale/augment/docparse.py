"""``vtscale augment-docs``: re-parse document pages and keep the faithful parses
(paper Appendix B). Only pages of ``augment.docs.kinds`` are parsed (paper: the ``doc``
pages of DocStruct4M, whose source text the loader took from inside their <doc> tags).
Each page's source text is compared with the parser's text by the four filters in
augment/filters.py; kept pages become conversations: the page's instruction
(augment/prompts.py ``page_instruction``) answered by the parsed text."""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from vtscale.augment.config import DocsConfig, InstructionPool, parse_cfg
from vtscale.augment.embedders import make_embedder, pair_similarity
from vtscale.augment.filters import FILTERS, FilterThresholds, first_failure
from vtscale.augment.outputs import add_output_options, write_outputs
from vtscale.augment.page_parsers import make_parser
from vtscale.augment.prompts import page_instruction
from vtscale.errors import InputError
from vtscale.io import read_jsonl

log = logging.getLogger(__name__)
SKIP_REASONS = ("unreadable_image",)
PARSE_CHUNK = 8
HISTOGRAM_EDGES = np.round(np.linspace(-1.0, 1.0, 21), 2)


def read_docs(path: Path) -> list[dict]:
    records = read_jsonl(path)
    for lineno, record in enumerate(records, start=1):
        for key in ("id", "image", "text"):
            if not isinstance(record, dict) or key not in record:
                raise InputError(f"{path}: record {lineno} ({record.get('id', '?') if isinstance(record, dict) else '?'}) "
                                 f"lacks field {key!r}")
    return records


def load_page(record: dict, image_root: Path) -> Image.Image | None:
    """The page image, or None (logged) when it is missing or corrupt."""
    path = image_root / record["image"]
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as err:
        log.warning("skipping page %s: cannot read %s (%s)", record["id"], path, err)
        return None


def parse_pages(parser, records: list[dict], image_root: Path) -> tuple[list[dict], list[str], list[dict]]:
    """(readable records, their parsed texts, unreadable records)."""
    readable, texts, unreadable = [], [], []
    with tqdm(total=len(records), desc="parse pages", unit="page") as bar:
        for start in range(0, len(records), PARSE_CHUNK):
            chunk, images = [], []
            for record in records[start:start + PARSE_CHUNK]:
                image = load_page(record, image_root)
                if image is None:
                    unreadable.append(record)
                else:
                    chunk.append(record)
                    images.append(image)
            if images:
                texts += parser.parse(images)
                readable += chunk
            bar.update(len(records[start:start + PARSE_CHUNK]))
    return readable, texts, unreadable


def select_pages(records: list[dict], kinds: list[str] | None) -> tuple[list[dict], int | None]:
    """(the pages of ``kinds``, how many others were left out); every page (and None)
    when no kinds are configured."""
    if kinds is None:
        return records, None
    selected = [r for r in records if r.get("kind") in kinds]
    return selected, len(records) - len(selected)


def to_conversation(record: dict, parsed: str, pool: InstructionPool | None = None, seed: int = 0) -> dict:
    # One generator per page, so a page's instruction does not depend on the others.
    instruction = page_instruction(pool, random.Random(f"{seed}:{record['id']}"))
    return {"id": f"{record['id']}_doc", "image": record["image"], "source": "docs",
            "conversations": [{"from": "human", "value": f"<image>\n{instruction}"},
                              {"from": "gpt", "value": parsed}]}


def judge(records: list[dict], parsed: list[str], similarity: np.ndarray,
          th: FilterThresholds) -> list[str | None]:
    return [first_failure(r["text"], p, float(s), th) for r, p, s in zip(records, parsed, similarity)]


def build_stats(records, readable, unreadable, verdicts, similarity, th, not_selected=None) -> dict:
    """Counts over the selected ``records``; ``pages`` adds the ``not_selected`` ones (other
    kinds), which are reported only when a kind selection is configured (None otherwise),
    so the demo's stats keep their keys."""
    per_kind: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        per_kind[record.get("kind", "unknown")]["pages"] += 1
    for record in unreadable:
        per_kind[record.get("kind", "unknown")]["unreadable_image"] += 1
    for record, verdict in zip(readable, verdicts):
        per_kind[record.get("kind", "unknown")][verdict or "kept"] += 1
    rejected = Counter(v for v in verdicts if v)
    counts, _ = np.histogram(similarity, bins=HISTOGRAM_EDGES)
    skipped = {"unreadable_image": len(unreadable)}
    if not_selected is not None:
        skipped["kind_not_selected"] = not_selected
    return {
        "pages": len(records) + (not_selected or 0),
        "parsed": len(readable),
        "skipped": skipped,
        "kept": sum(v is None for v in verdicts),
        "rejected": {name: rejected[name] for name in FILTERS},
        "thresholds": asdict(th),
        "similarity": {
            "histogram": {"edges": HISTOGRAM_EDGES.tolist(), "counts": counts.tolist()},
            "pages": [{"id": r["id"], "similarity": round(float(s), 4), "rejected_by": v}
                      for r, s, v in zip(readable, similarity, verdicts)],
        },
        "per_kind": {kind: {"pages": c["pages"], "kept": c["kept"],
                            "rejected": {name: c[name] for name in FILTERS},
                            "unreadable_image": c["unreadable_image"]}
                     for kind, c in sorted(per_kind.items())},
    }


def thresholds(cfg: DocsConfig) -> FilterThresholds:
    return FilterThresholds(cfg.min_tokens, cfg.max_length_ratio, cfg.tail_tokens,
                            cfg.min_unique_ratio, cfg.min_similarity)


def run(cfg: DocsConfig, records: list[dict], image_root: Path, parser, embedder,
        seed: int = 0) -> tuple[list[dict], dict]:
    selected, not_selected = select_pages(records, cfg.kinds)
    readable, parsed, unreadable = parse_pages(parser, selected, image_root)
    parsed = [text.strip() for text in parsed]   # as the authors compare and keep it
    similarity = pair_similarity(embedder, [r["text"] for r in readable], parsed)
    th = thresholds(cfg)
    verdicts = judge(readable, parsed, similarity, th)
    conversations = [to_conversation(r, p, cfg.instructions, seed)
                     for r, p, v in zip(readable, parsed, verdicts) if v is None]
    stats = build_stats(selected, readable, unreadable, verdicts, similarity, th, not_selected)
    return conversations, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vtscale augment-docs", description=__doc__)
    ap.add_argument("--cfg", required=True, help="JSON with the augment section and seed")
    ap.add_argument("--docs", required=True, type=Path, help="docs.jsonl: id, image, text, kind")
    ap.add_argument("--image-root", required=True, type=Path, help="folder the image paths are relative to")
    add_output_options(ap)
    args = ap.parse_args(argv)

    cfg, seed = parse_cfg(args.cfg)
    records = read_docs(args.docs)
    parser, embedder = make_parser(cfg.docs.parser), make_embedder(cfg.docs.embedder)
    start = time.perf_counter()
    conversations, stats = run(cfg.docs, records, args.image_root, parser, embedder, seed)
    write_outputs(args, conversations, stats, "pages", stats["pages"], time.perf_counter() - start)
    log.info("docs: %d pages, %d kept, rejected %s, skipped %s", stats["pages"], stats["kept"],
             stats["rejected"], stats["skipped"])
    return 0
