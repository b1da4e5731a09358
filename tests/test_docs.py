"""The repository's layout and its cross-references: what a fresh clone shows, and every
file that code, config, messages and docs point to exists in the repository."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ["Snakefile", "dvc.yaml", "workflow", "src", "data", "results", "tests", "README.md"]
# A repository path named in text: docs/x.md, data/README.md, src/vtscale/a/b.py, ...
REFERENCE = re.compile(r"\b((?:docs|data|results|src/vtscale|config|workflow|benchmarks|experiments)"
                       r"/[\w./-]+\.(?:md|py|yaml|smk))\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)\)")


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def text_files() -> list[Path]:
    patterns = ["src/**/*.py", "workflow/**/*.smk", "Snakefile", "config/*.yaml", "*.md", "docs/*.md",
                "data/README.md", "results/README.md", "benchmarks/*.py", "experiments/*"]
    return sorted({p for pattern in patterns for p in ROOT.glob(pattern) if p.is_file()})


def test_a_fresh_clone_shows_the_specified_layout():
    tracked = tracked_files()
    for entry in TOP_LEVEL:
        assert any(path == entry or path.startswith(entry + "/") for path in tracked), entry
    assert "data/README.md" in tracked and "results/README.md" in tracked


def test_no_reference_to_a_file_outside_the_repository():
    for path in text_files():
        assert "DESIGN.md" not in path.read_text(encoding="utf-8"), f"{path} cites DESIGN.md"


def test_every_named_repository_file_exists():
    missing = []
    for path in text_files():
        for name in REFERENCE.findall(path.read_text(encoding="utf-8")):
            if "<" in name or "*" in name or name.startswith(("results/demo/", "results/tiny/",
                                                                "results/paper/", "data/demo/",
                                                                "data/tiny/", "data/paper/")):
                continue            # outputs of a run, not repository files
            if not (ROOT / name).exists():
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_every_markdown_link_resolves():
    for path in [p for p in text_files() if p.suffix == ".md"]:
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (path.parent / target).exists(), f"{path.relative_to(ROOT)} links to {target}"
