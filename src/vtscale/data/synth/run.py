"""``vtscale synth --cfg JSON --out DATA_DIR``: generate the whole demo world.

Every item draws from its own generator seeded by (seed, stream, index), so the output
is byte-identical across runs and independent of generation order.
"""

from __future__ import annotations

import argparse
import base64
import logging
import math
from collections import Counter
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from vtscale.config import config_section, parse_json_arg
from vtscale.data.conversations import write_llava
from vtscale.data.descriptions import write_descriptions
from vtscale.data.dpo_pairs import write_pairs
from vtscale.data.scenes import write_scenes
from vtscale.errors import ConfigError
from vtscale.io import atomic_dir, write_csv, write_jsonl

from . import benchmarks, docs, dpo, language
from .config import WorldConfig
from .render import draw_scene, png_bytes, scene_record, word_origin
from .scene import Scene, item_rng, sample_scene

log = logging.getLogger(__name__)


def build_scenes(cfg: WorldConfig, seed: int):
    """Training scenes, the benchmark pool, and HallusionBench (original, edited) pairs."""
    place = word_origin(cfg.image_size)
    train = [sample_scene(item_rng(seed, "train", i), cfg, f"scene_{i:05d}", "train", word_origin=place)
             for i in tqdm(range(cfg.n_train_scenes), desc="train scenes", leave=False)]
    b = cfg.bench
    n_pool = max(b.pope, b.mme, b.mcq, b.ocrvqa, b.caption)
    base = cfg.n_train_scenes
    pool = [sample_scene(item_rng(seed, "bench", j), cfg, f"scene_{base + j:05d}", "bench",
                         min_words=1, word_origin=place) for j in range(n_pool)]
    base += n_pool
    pairs = []
    for s in range(math.ceil(b.hallusion / 2)):
        rng = item_rng(seed, "hallusion", s)
        while True:  # resample until some object can be recoloured unambiguously
            original = sample_scene(rng, cfg, f"scene_{base + 2 * s:05d}", "bench", word_origin=place)
            edit = benchmarks.hallusion_edit(original, f"scene_{base + 2 * s + 1:05d}", rng)
            if edit is not None:
                pairs.append((original, *edit))
                break
    return train, pool, pairs


def write_images(scenes: list[Scene], out: Path, image_size: int) -> dict[str, str]:
    """PNG files under out/images; returns base64 of the held-out ones for the TSVs."""
    b64 = {}
    with atomic_dir(out / "images") as tmp:
        for scene in tqdm(scenes, desc="render", leave=False):
            data = png_bytes(draw_scene(scene, image_size))
            (tmp / Path(scene.image).name).write_bytes(data)
            if scene.split == "bench":
                b64[scene.id] = base64.b64encode(data).decode("ascii")
    return b64


def write_docs(cfg: WorldConfig, seed: int, out: Path) -> Counter:
    records = []
    with atomic_dir(out / "pages") as tmp:
        for i in tqdm(range(cfg.n_docs), desc="documents", leave=False):
            doc = docs.make_doc(i, item_rng(seed, "docs", i))
            doc.page.save(tmp / f"{doc.id}.png", format="PNG", compress_level=6)
            records.append({"id": doc.id, "image": f"pages/{doc.id}.png", "text": doc.text, "kind": doc.kind})
    write_jsonl(out / "docs.jsonl", records)
    return Counter(r["kind"] for r in records)


def write_dpo(cfg: WorldConfig, seed: int, out: Path) -> None:
    place = word_origin(cfg.image_size)
    rows = []
    for i in range(cfg.n_dpo):
        rng = item_rng(seed, "dpo", i)
        scene = sample_scene(rng, cfg, f"dpo_{i:05d}", "dpo", word_origin=place)
        rows.append(dpo.make_pair(scene, i, rng))
    write_pairs(out / "dpo.jsonl", rows)


def write_training_text(cfg: WorldConfig, train: list[Scene], seed: int, out: Path) -> None:
    descriptions, conversations = [], []
    for i, scene in enumerate(tqdm(train, desc="text", leave=False)):
        descriptions.append({"id": scene.id, "image": scene.image,
                             "description": language.describe(scene, item_rng(seed, "describe", i))})
        turns = language.conversation(scene, item_rng(seed, "chat", i), cfg.aspects, cfg.turns,
                                      cfg.added_turns())
        conversations.append({"id": scene.id, "image": scene.image, "conversations": turns})
    write_descriptions(out / "descriptions.json", descriptions)
    write_llava(out / "conversations.json", conversations)


def write_tsv(path: Path, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    frame.insert(0, "index", range(len(frame)))
    write_csv(path, frame, sep="\t")


def write_benchmarks(cfg: WorldConfig, seed: int, out: Path, train, pool, pairs, b64) -> None:
    def rng_for(name: str, i: int):
        return item_rng(seed, f"bench/{name}", i)

    popularity = Counter(o.name for s in train for o in s.objects)
    b = cfg.bench
    tables = {
        "DemoPOPE": benchmarks.pope(pool[:b.pope], b64, popularity, rng_for),
        "DemoMME": benchmarks.mme(pool[:b.mme], b64, rng_for, cfg.aspects),
        "DemoHallusion": benchmarks.hallusion(pairs, b64),
        "DemoMCQ": benchmarks.mcq(pool[:b.mcq], b64, rng_for, cfg.aspects),
        "DemoOCRVQA": benchmarks.ocrvqa(pool[:b.ocrvqa], b64, rng_for, cfg.read_all_words),
        "DemoCaption": benchmarks.caption(pool[:b.caption], b64),
    }
    for name, rows in tables.items():
        write_tsv(out / benchmarks.FILES[name], rows)
        log.info("%s: %d rows", name, len(rows))


def generate(cfg: WorldConfig, seed: int, out: Path) -> None:
    train, pool, pairs = build_scenes(cfg, seed)
    held_out = pool + [scene for original, edited, _, _ in pairs for scene in (original, edited)]
    log.info("scenes: %d train, %d benchmark pool, %d hallusion figures",
             len(train), len(pool), 2 * len(pairs))
    b64 = write_images(train + held_out, out, cfg.image_size)
    write_scenes(out / "scenes.jsonl", [scene_record(s, cfg.image_size) for s in train + held_out])
    write_training_text(cfg, train, seed, out)
    log.info("documents: %s", dict(sorted(write_docs(cfg, seed, out).items())))
    write_dpo(cfg, seed, out)
    log.info("dpo pairs: %d", cfg.n_dpo)
    write_benchmarks(cfg, seed, out, train, pool, pairs, b64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale synth", description=__doc__)
    parser.add_argument("--cfg", required=True, help='JSON: {"seed": int, "world": {...}}')
    parser.add_argument("--out", required=True, type=Path, help="data directory to write")
    args = parser.parse_args(argv)
    payload = parse_json_arg(args.cfg)
    cfg = config_section(WorldConfig, payload, "world")
    seed = payload.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"config error: seed: expected a non-negative int, got {seed!r}")
    generate(cfg, seed, args.out)
    return 0
