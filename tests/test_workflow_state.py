"""What a killed Snakemake run leaves behind (vtscale.workflow_state): its lock and the
outputs of the jobs it was running, read as Snakemake itself writes them."""

import os
import subprocess
import sys

from snakemake.persistence.file import FilePersistence

from vtscale.workflow_state import check_lock, record_owner, unfinished_outputs


def a_dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def locked(state):
    """A Snakemake lock as a run holds it: the lock files only."""
    persistence = FilePersistence(path=state)
    persistence._write_locks("input", ["data/tiny/scenes.jsonl"])
    persistence._write_locks("output", ["results/tiny/models/stage2"])
    return state / "locks"


def test_a_lock_whose_owner_is_gone_is_removed_with_one_line(tmp_path):
    locks = locked(tmp_path / ".snakemake")
    pid = a_dead_pid()
    assert record_owner(tmp_path / ".snakemake", pid=pid) == locks / f"vtscale-owner.{pid}"
    line = check_lock(tmp_path / ".snakemake")
    assert line == f"vtscale: removed the lock that a killed snakemake run (pid {pid}) left in {locks}"
    assert not locks.exists()
    assert check_lock(tmp_path / ".snakemake") is None


def test_a_lock_held_by_a_live_run_or_no_known_owner_is_named_not_removed(tmp_path):
    for owner in (os.getpid(), None):                 # this process: alive; None: no owner file
        state = tmp_path / str(owner)
        locks = locked(state)
        if owner:
            record_owner(state, pid=owner)
        line = check_lock(state)
        assert "\n" not in line and "run `snakemake --unlock`, then `snakemake` again" in line
        assert sorted(p.name for p in locks.iterdir())[:2] == ["0.input.lock", "0.output.lock"]


def test_without_a_lock_there_is_no_owner_and_nothing_to_say(tmp_path):
    (tmp_path / "locks").mkdir()
    assert record_owner(tmp_path) is None                  # --nolock: no lock files
    assert check_lock(tmp_path) is None and check_lock(tmp_path / "absent") is None


def test_unfinished_outputs_are_the_missing_ones_marked_incomplete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    persistence = FilePersistence(path=tmp_path / ".snakemake")
    long_name = "results/tiny/eval/" + "x" * 300 + "/DemoPOPE.scores.json"   # split into folders
    for path in ["results/tiny/models/stage2", "results/tiny/models/stage1", long_name,
                 "results/demo/models/stage2", "elsewhere/file.txt"]:
        persistence._mark_incomplete(path, None)
    (tmp_path / "results/tiny/models/stage1").mkdir(parents=True)       # there: Snakemake reruns it
    assert sorted(unfinished_outputs(["data/tiny", "results/tiny"])) == sorted(
        ["results/tiny/models/stage2", long_name])
    locked(tmp_path / ".snakemake")                                     # a run holds the lock:
    assert unfinished_outputs(["results/tiny"]) == []                   # its jobs are running
