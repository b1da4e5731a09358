import json
import os
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def venv_env() -> dict[str, str]:
    """Environment whose PATH finds this interpreter's console scripts (vtscale, snakemake, dvc)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    env["HF_HUB_OFFLINE"] = "1"
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A tiny generated demo world (config/tiny.yaml's world, 8 training scenes)."""
    from vtscale.data import synth
    tiny = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    out = tmp_path_factory.mktemp("world")
    assert synth.main(["--cfg", json.dumps({"seed": 0, "world": {**tiny["world"], "n_train_scenes": 8}}),
                       "--out", str(out)]) == 0
    return out
