"""vtscale.hub: local paths, offline hub cache lookups and one-line access errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from vtscale import hub
from vtscale.errors import InputError

REV = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    home = tmp_path / "hf_home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


def fake_snapshot(home, kind, repo_id, files):
    """A repo laid out the way huggingface_hub caches it."""
    repo = home / "hub" / f"{kind}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REV)
    for name, text in files.items():
        path = repo / "snapshots" / REV / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return repo / "snapshots" / REV


def test_offline_uncached_model_names_id_and_fix(offline_home):
    with pytest.raises(InputError) as err:
        hub.require_model("meta-llama/Llama-2-7b-chat-hf", "model.llm.source")
    message = str(err.value)
    assert message == (f"meta-llama/Llama-2-7b-chat-hf: config.json is not in the local cache "
                       f"{offline_home / 'hub'} and HF_HUB_OFFLINE=1: run once online or set "
                       "model.llm.source to a local copy")
    assert "\n" not in message


def test_offline_uncached_dataset_file(offline_home):
    with pytest.raises(InputError, match=r"^BAAI/SVIT: data/detail_description.json is not in the "
                                         r"local cache .* HF_HUB_OFFLINE=1"):
        hub.require_dataset_file("BAAI/SVIT", "data/detail_description.json", what="datasets.svit.local")


def test_local_model_folder_returned_as_is(offline_home, tmp_path):
    folder = tmp_path / "llama"
    folder.mkdir()
    assert hub.require_model(str(folder), "model.llm.source") == str(folder)


def test_missing_local_path_and_file_instead_of_folder(offline_home, tmp_path):
    with pytest.raises(InputError, match=r"^model.llm.source: local folder .*/nowhere/llama not found$"):
        hub.require_model(str(tmp_path / "nowhere" / "llama"), "model.llm.source")
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(InputError, match="is a file, expected a model folder"):
        hub.require_model(str(tmp_path / "weights.bin"), "model.llm.source")


def test_cached_snapshot_resolves_offline(offline_home):
    snapshot = fake_snapshot(offline_home, "model", "org/tiny-llm", {"config.json": "{}"})
    assert hub.require_model("org/tiny-llm", "model.llm.source") == "org/tiny-llm"
    data = fake_snapshot(offline_home, "dataset", "org/data", {"sub/train.json": json.dumps([1, 2])})
    path = hub.require_dataset_file("org/data", "sub/train.json")
    assert path.resolve() == (data / "sub" / "train.json").resolve()
    assert json.loads(path.read_text()) == [1, 2]
    assert snapshot.is_dir()


def test_cached_repo_without_the_file(offline_home):
    fake_snapshot(offline_home, "dataset", "org/data", {"a.json": "[]"})
    with pytest.raises(InputError, match=r"^org/data: b.json is not in the local cache"):
        hub.require_dataset_file("org/data", "b.json")


def test_local_dataset_file_or_folder(offline_home, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.json").write_text("[]")
    assert hub.require_dataset_file("BAAI/SVIT", "data/x.json", local=tmp_path) == tmp_path / "data" / "x.json"
    assert hub.require_dataset_file("BAAI/SVIT", "data/x.json", local=tmp_path / "data" / "x.json") \
        == tmp_path / "data" / "x.json"
    with pytest.raises(InputError, match=r"^datasets.svit.local: .*data/y.json not found$"):
        hub.require_dataset_file("BAAI/SVIT", "data/y.json", local=tmp_path, what="datasets.svit.local")


def test_invalid_id(offline_home):
    with pytest.raises(InputError, match=r"model.llm.source: 'bad id!' is neither an existing local path nor a hub id"):
        hub.require_model("bad id!", "model.llm.source")


def _http_error(cls, status):
    response = SimpleNamespace(status_code=status, headers={}, request=None, url="https://huggingface.co")
    return cls("denied", response=response)


@pytest.mark.parametrize("name,status,expected", [
    ("GatedRepoError", 403, "meta-llama/Llama-2-7b-chat-hf is gated: accept its licence on "
                            "https://huggingface.co/meta-llama/Llama-2-7b-chat-hf, run `hf auth login` "
                            "(or set HF_TOKEN), or set model.llm.source to a local copy"),
    ("HfHubHTTPError", 401, "meta-llama/Llama-2-7b-chat-hf is gated"),
    ("RepositoryNotFoundError", 404, "meta-llama/Llama-2-7b-chat-hf: no such model repository on the hub"),
    ("RemoteEntryNotFoundError", 404, "meta-llama/Llama-2-7b-chat-hf has no file 'config.json'"),
])
def test_hub_errors_become_one_line(offline_home, monkeypatch, name, status, expected):
    import huggingface_hub
    from huggingface_hub import errors

    def failing(*args, **kwargs):
        raise _http_error(getattr(errors, name), status)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing)
    with pytest.raises(InputError) as err:
        hub.require_model("meta-llama/Llama-2-7b-chat-hf", "model.llm.source")
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)
