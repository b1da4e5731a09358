"""What a killed Snakemake run leaves behind, so that running ``snakemake`` again resumes it.

A run killed hard (SIGKILL, the OOM killer, a lost node, a power cut) cannot clean up,
and leaves two things that stop a plain ``snakemake`` from resuming it:

- its lock (``.snakemake/locks``): the next run stops with "Directory cannot be locked"
  (a dry run says so, then plans as if nothing had happened). The workflow records, once
  its run holds the lock, which process holds it (an owner file ``vtscale-owner.<pid>``
  holding the host name, beside Snakemake's lock files; Snakemake removes the folder,
  owner files included, when it unlocks). Before the next run, ``check_lock`` removes a
  lock whose every owner was a process of this host that no longer exists, as
  ``snakemake --unlock`` would, and names any other lock in one line that says to run
  ``snakemake --unlock`` if no other run is active;
- the outputs of the jobs it was running, which Snakemake removed before starting them
  and marked incomplete (``.snakemake/incomplete``, one file per output named by its
  path in URL-safe base64). Snakemake reruns an incomplete output only where it exists,
  and a missing one only where a later job has to run: when the later outputs are still
  there (a killed ``--forcerun``, say), ``snakemake`` says "Nothing to be done".
  ``unfinished_outputs`` lists them, and the Snakefile asks for them, so a plain
  ``snakemake`` rebuilds them and everything after them.
"""

from __future__ import annotations

import binascii
import os
import shutil
import socket
from base64 import urlsafe_b64decode
from pathlib import Path

STATE = Path(".snakemake")
OWNER_PREFIX = "vtscale-owner."


def record_owner(state: Path = STATE, pid: int | None = None) -> Path | None:
    """Write this process's owner file beside the lock files (called once the run holds
    the lock; nothing under ``--nolock``, which writes no lock)."""
    locks = Path(state) / "locks"
    if not any(locks.glob("*.lock")):
        return None
    path = locks / f"{OWNER_PREFIX}{pid or os.getpid()}"
    path.write_text(socket.gethostname() + "\n", encoding="utf-8")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:           # someone else's process: it exists
        return True
    return True


def _owners(locks: Path) -> list[tuple[int, str]]:
    owners = []
    for path in sorted(locks.glob(f"{OWNER_PREFIX}*")):
        try:
            owners.append((int(path.name[len(OWNER_PREFIX):]), path.read_text(encoding="utf-8").strip()))
        except (ValueError, OSError):
            continue
    return owners


def check_lock(state: Path = STATE) -> str | None:
    """Remove a lock whose owners are all gone; the one line to show, or None when
    nothing is locked."""
    locks = Path(state) / "locks"
    if not locks.is_dir() or not any(locks.glob("*.lock")):
        return None
    owners = _owners(locks)
    host = socket.gethostname()
    if owners and all(owner_host == host and not _alive(pid) for pid, owner_host in owners):
        shutil.rmtree(locks, ignore_errors=True)
        pids = ", ".join(str(pid) for pid, _ in owners)
        return f"vtscale: removed the lock that a killed snakemake run (pid {pids}) left in {locks}"
    return (f"vtscale: {locks} holds a lock: if no other snakemake runs in this folder, a killed "
            f"run left it; run `snakemake --unlock`, then `snakemake` again")


def _marked_incomplete(state: Path) -> list[str]:
    """The paths Snakemake marked incomplete (a long name is split into folders whose
    names but the last start with '@')."""
    root = Path(state) / "incomplete"
    paths = []
    for marker in sorted(root.rglob("*")) if root.is_dir() else []:
        if marker.is_dir() or marker.name == "migration_underway":
            continue
        parts = marker.relative_to(root).parts
        encoded = "".join(part.removeprefix("@") for part in parts)
        try:
            paths.append(urlsafe_b64decode(encoded.encode()).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return paths


def unfinished_outputs(folders: list[str], state: Path = STATE) -> list[str]:
    """Outputs under ``folders`` that a killed run's jobs left unfinished and that are
    missing: marked incomplete, not on disk. None while a lock is held: the marks may be
    those of the jobs a live run is running."""
    if any((Path(state) / "locks").glob("*.lock")):
        return []
    roots = [Path(os.path.abspath(folder)) for folder in folders]
    return [path for path in _marked_incomplete(state) if not os.path.lexists(path)
            and any(Path(os.path.abspath(path)).is_relative_to(root) for root in roots)]
