"""Diagnostics stay apart from the pipeline: no pipeline module imports them, no
Snakemake rule runs them, and the CLI lists them on their own."""

from __future__ import annotations

import ast
from pathlib import Path

from vtscale import cli

PACKAGE = Path(cli.__file__).resolve().parent
DIAGNOSTICS = "vtscale.diagnostics"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports, relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def pipeline_sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "diagnostics" not in p.relative_to(PACKAGE).parts]


def test_no_module_outside_diagnostics_imports_them():
    offenders = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
                 for path in pipeline_sources() for name in sorted(imported_modules(path))
                 if name == DIAGNOSTICS or name.startswith(DIAGNOSTICS + ".")]
    assert not offenders, offenders


def test_no_module_outside_diagnostics_names_them_except_the_cli_table():
    named = [path.relative_to(PACKAGE.parent) for path in pipeline_sources()
             if path != PACKAGE / "cli.py" and DIAGNOSTICS in path.read_text()]
    assert not named, named


def test_cli_maps_pipeline_commands_outside_diagnostics():
    assert set(cli.DIAGNOSTICS) == {"question-probe", "fused-sensitivity", "stage1-retrieval"}
    assert all(module.startswith(DIAGNOSTICS + ".") for module, _ in cli.DIAGNOSTICS.values())
    assert not any(module.startswith(DIAGNOSTICS) for module, _ in cli.SUBCOMMANDS.values())
    lines = cli.usage().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("diagnostics"))
    assert {line.split()[0] for line in lines[header + 1:] if line.strip()} == set(cli.DIAGNOSTICS)


def test_no_snakemake_rule_runs_a_diagnostic(repo_root):
    sources = [repo_root / "Snakefile", *sorted((repo_root / "workflow").rglob("*.smk"))]
    words = [*cli.DIAGNOSTICS, *(module for module, _ in cli.DIAGNOSTICS.values()), "diagnostics"]
    found = [(path.name, word) for path in sources for word in words if word in path.read_text()]
    assert not found, found
