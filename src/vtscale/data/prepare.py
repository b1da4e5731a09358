"""Paper profile raw data, two commands (rules prepare_paper_data and link_benchmarks):

``vtscale prepare-data --cfg JSON --out DATA``
    fetches LLaVA v1.5 mix665k, SVIT, DocDownstream and DocStruct4M (hub through the HF
    cache, or each entry's ``local`` copy) and writes the internal formats
    (docs/formats.md): DATA/conversations.json (mix665k + SVIT + DocDownstream),
    DATA/descriptions.json (SVIT detail descriptions), DATA/docs.jsonl (DocStruct4M
    struct_aware_parse) and DATA/pages, a link to ``datasets.images_root``. Every record's
    image is ``pages/<path under images_root>``, so it resolves relative to DATA; records
    whose image is missing are left out and counted. ``datasets.conversion`` applies the
    authors' rewrites (loaders: boxes, OCR-reference records, caps, SVIT packing).

``vtscale link-benchmarks --root LMUDATA OUT_TSV...``
    links each VLMEvalKit TSV (by file name) from VLMEvalKit's LMUData folder into place.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from vtscale.config import config_section, parse_json_arg
from vtscale.data import loaders
from vtscale.data.config import ConversionConfig, DatasetsConfig
from vtscale.data.conversations import write_llava
from vtscale.data.descriptions import write_descriptions
from vtscale.errors import InputError
from vtscale.hub import require_dataset_file
from vtscale.io import write_jsonl

log = logging.getLogger(__name__)

PAGES = "pages"
# The SVIT task files the authors pack across an image's conversations
# (scripts/prepare_data_baai_svit.py, JSON_PATH_DICT); the others keep one record per conversation.
SVIT_PACKED_TASKS = ("complex_reasoning", "referring_qa")


def images_root(cfg: DatasetsConfig) -> Path:
    if not cfg.images_root:
        raise InputError("datasets.images_root is not set: point it to the folder holding the "
                         "images the datasets reference (coco/, gqa/, vg/, imgs/, ...)")
    root = Path(cfg.images_root).expanduser()
    if not root.is_dir():
        raise InputError(f"datasets.images_root: {root} is not a folder")
    return root.resolve()


def fetch(cfg: DatasetsConfig, name: str, filename: str) -> Path:
    entry = getattr(cfg, name)
    path = require_dataset_file(entry.hub, filename, local=entry.local,
                                what=f"datasets.{name}.local")
    log.info("datasets.%s: %s", name, path)
    return path


# ---------------------------------------------------------------- conversion
def under_pages(records: list[dict], root: Path, source: str) -> list[dict]:
    """Records whose image exists under ``root``, with the image path made relative to DATA."""
    kept, missing = [], 0
    for record in records:
        if not (root / record["image"]).is_file():
            missing += 1
            continue
        kept.append({**record, "image": f"{PAGES}/{record['image']}"})
    if missing:
        log.warning("%s: left out %d of %d records whose image is not under %s",
                    source, missing, len(records), root)
    return kept


def load_all(cfg: DatasetsConfig, name: str, loader: Callable[[Path], list[dict]],
             root: Path, files: list[str] | None = None) -> list[dict]:
    records = []
    for filename in files or getattr(cfg, name).files():
        loaded = loader(fetch(cfg, name, filename))
        records += under_pages(loaded, root, f"datasets.{name} {filename}")
    return records


def llava(path: Path, root: Path, conv: ConversionConfig) -> list[dict]:
    records = loaders.load_llava(path)
    if conv.llava_drop_reference_ocr:
        records = loaders.without_reference_ocr(records, str(path))
    if conv.llava_max_messages is not None:
        records = loaders.capped(records, conv.llava_max_messages)
    return loaders.with_bbox_tags(records, padded_images=root) if conv.bbox_tags else records


def svit(path: Path, root: Path, conv: ConversionConfig) -> list[dict]:
    packed = path.stem in SVIT_PACKED_TASKS
    records = loaders.load_svit_conversations(path, image_root=root,
                                              max_rounds=conv.svit_max_rounds if packed else None)
    records = loaders.with_bbox_tags(records) if conv.bbox_tags else records
    return loaders.with_first_question_of(records, conv.svit_min_first_message, str(path))


def conversations(cfg: DatasetsConfig, root: Path) -> list[dict]:
    conv = cfg.conversion
    records = (load_all(cfg, "llava_mix665k", lambda path: llava(path, root, conv), root)
               + load_all(cfg, "svit", lambda path: svit(path, root, conv), root)
               + load_all(cfg, "docdownstream", loaders.load_mplug_conversations, root))
    return unique_ids(records)


def unique_ids(records: list[dict]) -> list[dict]:
    """SVIT task files share ids (``svit_<image>_<k>`` in each); keep every record, ids unique."""
    seen: dict[str, int] = {}
    out = []
    for record in records:
        count = seen.get(record["id"], 0)
        seen[record["id"]] = count + 1
        out.append(record if count == 0 else {**record, "id": f"{record['id']}#{count}"})
    return out


def descriptions(cfg: DatasetsConfig, root: Path) -> list[dict]:
    svit = lambda path: loaders.load_svit_descriptions(path, image_root=root)  # noqa: E731
    return load_all(cfg, "svit", svit, root, files=[cfg.svit.descriptions])


def docs(cfg: DatasetsConfig, root: Path) -> list[dict]:
    return load_all(cfg, "docstruct4m", loaders.load_mplug_docs, root)


def link(target: Path, path: Path) -> None:
    """Point ``path`` at ``target``, replacing what was there in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.link.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp, target_is_directory=target.is_dir())
    os.replace(tmp, path)


def prepare(cfg: DatasetsConfig, out: Path) -> dict[str, int]:
    root = images_root(cfg)
    results = {"conversations": conversations(cfg, root), "descriptions": descriptions(cfg, root),
               "docs": docs(cfg, root)}
    for name, records in results.items():
        if not records:
            raise InputError(f"datasets: no {name} left: none of their images is under {root} "
                             "(datasets.images_root)")
    write_llava(out / "conversations.json", results["conversations"], indent=None)
    write_descriptions(out / "descriptions.json", results["descriptions"], indent=None)
    write_jsonl(out / "docs.jsonl", results["docs"])
    link(root, out / PAGES)
    counts = {name: len(records) for name, records in results.items()}
    log.info("wrote %s under %s (images: %s -> %s)", counts, out, out / PAGES, root)
    return counts


# ---------------------------------------------------------------- VLMEvalKit TSVs
def lmudata_root(root: str) -> Path:
    """VLMEvalKit's own rule: $LMUData, else ~/LMUData."""
    return Path(root or os.environ.get("LMUData") or "~/LMUData").expanduser()


def link_benchmarks(root: Path, outputs: list[Path]) -> None:
    for out in outputs:
        source = root / out.name
        if not source.is_file():
            raise InputError(f"{source}: VLMEvalKit TSV {out.name} not found: run VLMEvalKit once on "
                             f"{out.stem} (it downloads the TSV into its LMUData folder, $LMUData or "
                             "~/LMUData), or set datasets.benchmarks_root to the folder holding it")
        if out.exists() and out.resolve() == source.resolve():
            continue
        link(source.resolve(), out)
        log.info("%s -> %s", out, source)


# ---------------------------------------------------------------- commands
def parse_prepare(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale prepare-data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", required=True, help="JSON with the datasets section (and seed)")
    p.add_argument("--out", required=True, type=Path, help="data_dir (DATA)")
    return p.parse_args(argv)


def parse_link(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale link-benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="", help="VLMEvalKit's LMUData folder (default $LMUData, ~/LMUData)")
    p.add_argument("outputs", nargs="+", type=Path, help="TSV paths to create, e.g. DATA/benchmarks/MME.tsv")
    return p.parse_args(argv)


def prepare_main(argv: list[str] | None = None) -> int:
    """``vtscale prepare-data`` (cli.py)."""
    args = parse_prepare(argv)
    prepare(config_section(DatasetsConfig, parse_json_arg(args.cfg), "datasets"), args.out)
    return 0


def link_main(argv: list[str] | None = None) -> int:
    """``vtscale link-benchmarks`` (cli.py)."""
    args = parse_link(argv)
    link_benchmarks(lmudata_root(args.root), args.outputs)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Either command by hand (``python -m``): named first, else prepare-data if ``--cfg``
    is given. cli.py calls :func:`prepare_main` and :func:`link_main` directly."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("prepare-data", "link-benchmarks") else None
    if command == "prepare-data" or (command is None and "--cfg" in argv):
        return prepare_main(argv)
    return link_main(argv)
