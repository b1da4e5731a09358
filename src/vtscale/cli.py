"""The ``vtscale`` command: one subcommand per pipeline stage, plus the diagnostics.

Each subcommand is a module with ``main(argv: list[str] | None) -> int`` (or a
``module:function`` of that form, where one module serves two commands); Snakemake
rules call the pipeline's (``vtscale <stage> ...``) so every stage also runs by hand.
``--log FILE``, taken here before the command parses its options, works with every one.
Diagnostics (``vtscale.diagnostics``, docs/diagnostics.md) are run by hand only: no
rule calls them and no pipeline module imports them (tests/test_diagnostics_apart.py).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable

from vtscale.errors import ConfigError, InputError
from vtscale.logs import setup_logging

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("vtscale.data.synth", "generate the demo world"),
    "prepare-data": ("vtscale.data.prepare:prepare_main", "paper: training data from the hub in internal formats"),
    "link-benchmarks": ("vtscale.data.prepare:link_main", "paper: link VLMEvalKit TSVs under data_dir"),
    "augment-qa": ("vtscale.augment.qa", "LLM yes/no + multiple-choice QA generation"),
    "augment-docs": ("vtscale.augment.docparse", "OCR re-parsing of document pages + filters"),
    "mixture": ("vtscale.augment.mixture", "merge training sources, seeded stage-3 subset"),
    "convert-gguf": ("vtscale.model.gguf", "convert the SmolLM2 GGUF wheel to safetensors"),
    "bootstrap-clip": ("vtscale.train.bootstrap_clip", "demo: pretrain a small open_clip model"),
    "bootstrap-lm": ("vtscale.train.bootstrap_lm", "demo: pretrain a small Llama LM"),
    "train": ("vtscale.train.run", "train stage 1, 2 or 3"),
    "model-info": ("vtscale.model.info", "parameter counts and token counts of a model config"),
    "eval": ("vtscale.eval.run", "evaluate one (variant, n, m) checkpoint on every configured benchmark"),
    "score": ("vtscale.eval.score", "score a VLMEvalKit-format predictions TSV (no model)"),
    "collect-scores": ("vtscale.eval.collect", "gather score JSONs into the tidy scores.csv"),
    "baselines": ("vtscale.analysis.baselines", "majority and question-alone baselines per benchmark"),
    "fit": ("vtscale.analysis.fit", "fit P = C n^-alpha per benchmark"),
    "collect-gates": ("vtscale.analysis.gates", "the stand-ins' gate figures for the report and DVC"),
    "headline": ("vtscale.analysis.headline", "headline numbers and plot data for the report and DVC"),
    "dvc-plots-template": ("vtscale.dvc_plots_page", "write the offline HTML template of `dvc plots show`"),
    "question-fusion": ("vtscale.analysis.question_fusion", "question-fusion deltas and curve clusters"),
    "divergence": ("vtscale.theory.divergence", "divergence analysis on LLM hidden states"),
    "cost": ("vtscale.analysis.cost", "FLOPs and latency table"),
    "report": ("vtscale.analysis.report", "HTML report of every figure and table"),
    "dvc-track": ("vtscale.dvc_track", "record data and results folders in DVC"),
}
DIAGNOSTICS: dict[str, tuple[str, str]] = {
    "fused-sensitivity": ("vtscale.diagnostics.fused_sensitivity",
                          "does the LLM's loss depend on the fused tokens?"),
    "question-probe": ("vtscale.diagnostics.question_probe",
                       "demo: how fast does a model learn to use the question?"),
    "stage1-retrieval": ("vtscale.diagnostics.stage1_retrieval",
                         "per question kind, does stage 1 put a question nearest its answer?"),
}
COMMANDS = {**SUBCOMMANDS, **DIAGNOSTICS}
HELP_FLAGS = {"-h", "--help"}
LOG_OPTION_HELP = ("\noption of every command:\n"
                   "  --log FILE            also write the log to FILE (the console still gets it)")


def usage() -> str:
    lines = ["usage: vtscale <command> [options] [--log FILE]",
             "       vtscale <command> --help: the command's own options", LOG_OPTION_HELP,
             "", "pipeline commands:"]
    lines += [f"  {name:<18} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "diagnostics (by hand, outputs apart from the scores; docs/diagnostics.md):"]
    lines += [f"  {name:<18} {help_}" for name, (_, help_) in DIAGNOSTICS.items()]
    return "\n".join(lines)


def entry_point(name: str) -> Callable[[list[str] | None], int]:
    """The ``main(argv)`` of command ``name``: its module's ``main``, or the function named
    after the colon."""
    module_name, _, function = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module_name), function or "main")


def _pop_log_option(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--log FILE`` is common to every subcommand: logging goes there too."""
    if "--log" not in argv:
        return None, argv
    i = argv.index("--log")
    if i + 1 >= len(argv):
        raise SystemExit("vtscale: --log needs a file name")
    return argv[i + 1], argv[:i] + argv[i + 2:]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"vtscale: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    log_file, rest = _pop_log_option(rest)
    setup_logging(log_file)
    log = logging.getLogger(f"vtscale.{name}")
    command = entry_point(name)
    try:
        return int(command(rest) or 0)
    except SystemExit as exit_:
        if exit_.code == 0 and HELP_FLAGS & set(rest):  # the command printed its help
            print(LOG_OPTION_HELP)
        raise
    except (ConfigError, InputError, FileNotFoundError) as err:
        log.error("%s", err)
        return 1
    except Exception:
        log.exception("vtscale %s failed", name)
        raise


if __name__ == "__main__":
    sys.exit(main())
