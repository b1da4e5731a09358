"""Resolve a model or dataset source before any heavy work: a local path, or a Hugging
Face hub id read through the HF cache (honouring HF_HOME, HF_HUB_CACHE and HF_HUB_OFFLINE).

Failures (offline and not cached, no such repo or file, gated or unauthorised) become one
InputError line that names the id and says how to get access.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vtscale.errors import InputError

log = logging.getLogger(__name__)

_TRUE = {"1", "on", "yes", "true"}
_LOGIN = "run `hf auth login` (or set HF_TOKEN)"


def hub_offline() -> bool:
    """Read at call time: huggingface_hub reads HF_HUB_OFFLINE once, at import."""
    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return flag.strip().lower() in _TRUE


def hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    return Path(home).expanduser() / "hub"


def _meant_as_path(source: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else that does not exist is a missing path."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1


def _hub_url(repo_id: str, repo_type: str) -> str:
    prefix = {"dataset": "datasets/", "space": "spaces/"}.get(repo_type, "")
    return f"https://huggingface.co/{prefix}{repo_id}"


def _access_error(err: Exception, repo_id: str, filename: str, repo_type: str, what: str) -> InputError:
    """One line for each way a hub download fails."""
    from huggingface_hub import errors

    url = _hub_url(repo_id, repo_type)
    status = getattr(getattr(err, "response", None), "status_code", None)
    if isinstance(err, errors.GatedRepoError) or status in (401, 403):
        return InputError(f"{repo_id} is gated: accept its licence on {url}, {_LOGIN}, "
                          f"or set {what} to a local copy")
    if isinstance(err, errors.RepositoryNotFoundError):
        return InputError(f"{repo_id}: no such {repo_type} repository on the hub (or it is private: "
                          f"{_LOGIN}); check {what}")
    if isinstance(err, errors.RevisionNotFoundError):
        return InputError(f"{repo_id}: revision not found on the hub; check {what}")
    if isinstance(err, errors.LocalEntryNotFoundError):
        if hub_offline():
            return InputError(f"{repo_id}: {filename} is not in the local cache {hub_cache_dir()} and "
                              f"HF_HUB_OFFLINE=1: run once online or set {what} to a local copy")
        return InputError(f"{repo_id}: cannot reach the hub and {filename} is not in the local cache "
                          f"{hub_cache_dir()}: check the network or set {what} to a local copy")
    if isinstance(err, errors.EntryNotFoundError):
        return InputError(f"{repo_id} has no file {filename!r}; check {what}")
    return InputError(f"{repo_id}: {filename} could not be downloaded ({type(err).__name__}: "
                      f"{str(err).splitlines()[0] if str(err) else ''}); check {what}")


def hub_file(repo_id: str, filename: str, *, repo_type: str = "model", what: str) -> Path:
    """``filename`` of a hub repo through the HF cache (downloaded unless offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HFValidationError, HfHubHTTPError, EntryNotFoundError

    try:
        path = hf_hub_download(repo_id, filename, repo_type=repo_type, cache_dir=hub_cache_dir(),
                               local_files_only=hub_offline())
    except HFValidationError:
        raise InputError(f"{what}: {repo_id!r} is neither an existing local path nor a hub id "
                         "(org/name)") from None
    except (HfHubHTTPError, EntryNotFoundError, OSError) as err:
        raise _access_error(err, repo_id, filename, repo_type, what) from None
    return Path(path)


def require_model(source: str, what: str, probe: str = "config.json") -> str:
    """A local model folder as is, or a hub id whose ``probe`` file is reachable (so gated,
    missing or uncached models fail here, not deep inside from_pretrained). Returns the path
    or the id; from_pretrained then loads the rest through the same cache."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{what}: {source} is a file, expected a model folder or a hub id")
        return str(path)
    if _meant_as_path(source):
        raise InputError(f"{what}: local folder {source} not found")
    hub_file(source, probe, repo_type="model", what=what)
    log.info("%s: %s resolved through the hub cache %s", what, source, hub_cache_dir())
    return source


def require_dataset_file(hub_id: str, filename: str, local: str | os.PathLike | None = None,
                         repo_type: str = "dataset", what: str | None = None) -> Path:
    """``filename`` of a hub dataset, or the ``local`` copy: a file, or a folder holding
    ``filename`` at the same relative path as in the repo."""
    what = what or f"the `local` path of {hub_id}"
    if local:
        local = Path(local).expanduser()
        path = local / filename if local.is_dir() else local
        if not path.is_file():
            raise InputError(f"{what}: {path} not found")
        return path
    return hub_file(hub_id, filename, repo_type=repo_type, what=what)


def load_failure(source: str, what: str, err: Exception) -> InputError:
    """One line for a model that a library could not load from ``source``."""
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    offline = f"HF_HUB_OFFLINE=1, so only the local cache {hub_cache_dir()} is searched; " if hub_offline() else ""
    return InputError(f"{what}: cannot load {source!r} ({reason}); {offline}for a hub model accept its "
                      f"licence on its hub page and {_LOGIN}, or set {what} to a local copy")
