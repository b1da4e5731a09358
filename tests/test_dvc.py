"""DVC records the pipeline's folders, restores deleted outputs and round-trips a remote."""

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is required")


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def dvc_repo(tmp_path, venv_env):
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q"], repo, venv_env)
    run(["dvc", "init", "-q"], repo, venv_env)
    run(["dvc", "remote", "add", "-d", "local", str(tmp_path / "storage")], repo, venv_env)
    (repo / "data" / "demo").mkdir(parents=True)
    (repo / "data" / "demo" / "scenes.jsonl").write_text('{"id": "scene_0"}\n')
    (repo / "results" / "models").mkdir(parents=True)
    (repo / "results" / "scores.csv").write_text("variant,benchmark,metric,n,m,score\n")
    (repo / "results" / "models" / "w.bin").write_bytes(b"\x00\x01" * 100)
    return repo


def test_track_checkout_push_pull(dvc_repo, venv_env):
    run(["vtscale", "dvc-track", "data/demo", "results"], dvc_repo, venv_env)
    assert (dvc_repo / "results.dvc").exists() and (dvc_repo / "data" / "demo.dvc").exists()
    status = run(["dvc", "status"], dvc_repo, venv_env)
    assert "up to date" in status.lower()

    (dvc_repo / "results" / "scores.csv").unlink()
    run(["dvc", "checkout"], dvc_repo, venv_env)
    assert (dvc_repo / "results" / "scores.csv").read_text().startswith("variant,")

    run(["dvc", "push"], dvc_repo, venv_env)
    shutil.rmtree(dvc_repo / "results")
    shutil.rmtree(dvc_repo / ".dvc" / "cache")
    run(["dvc", "pull"], dvc_repo, venv_env)
    assert (dvc_repo / "results" / "models" / "w.bin").read_bytes() == b"\x00\x01" * 100
    listing = run(["dvc", "ls", ".", "--dvc-only"], dvc_repo, venv_env)
    assert "results" in listing


def test_track_is_idempotent(dvc_repo, venv_env):
    run(["vtscale", "dvc-track", "data/demo", "results"], dvc_repo, venv_env)
    before = (dvc_repo / "results.dvc").read_text()
    run(["vtscale", "dvc-track", "data/demo", "results"], dvc_repo, venv_env)
    assert (dvc_repo / "results.dvc").read_text() == before
