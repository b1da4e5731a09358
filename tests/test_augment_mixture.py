"""Training mixture: merge, source tags, seeded stage-3 subset, malformed records."""

import json

import pytest

from vtscale.augment import mixture
from vtscale.errors import InputError


def llava(rid, turns=2):
    roles = ["human", "gpt"]
    return {"id": rid, "image": f"images/{rid}.png",
            "conversations": [{"from": roles[i % 2], "value": f"t{i}"} for i in range(turns)]}


def write(path, records):
    path.write_text(json.dumps(records))
    return path


def run(tmp_path, sources, fraction=0.1, seed=0):
    cfg = json.dumps({"augment": {"mixture": {"stage3_fraction": fraction}}, "seed": seed})
    argv = ["--cfg", cfg, "--out", str(tmp_path / "train.json"), "--stage3-out", str(tmp_path / "s3.json"),
            "--stats", str(tmp_path / "stats.json")]
    for name, path in sources.items():
        argv += ["--source", f"{name}={path}"]
    assert mixture.main(argv) == 0
    load = lambda name: json.loads((tmp_path / name).read_text())
    return load("train.json"), load("s3.json"), load("stats.json")


def test_merge_tags_sources_and_draws_seeded_subset(tmp_path):
    base = write(tmp_path / "base.json", [llava(f"b{i}") for i in range(30)])
    qa = write(tmp_path / "qa.json", [llava(f"q{i}", 4) for i in range(10)])
    train, stage3, stats = run(tmp_path, {"base": base, "qa": qa})
    assert len(train) == 40 and {r["source"] for r in train} == {"base", "qa"}
    assert stats["per_source"] == {"base": 30, "qa": 10} and stats["stage3"] == 4 == len(stage3)
    assert all(r in train for r in stage3)
    _, again, _ = run(tmp_path, {"base": base, "qa": qa})
    assert again == stage3
    _, other_seed, _ = run(tmp_path, {"base": base, "qa": qa}, seed=1)
    assert other_seed != stage3


def test_subset_has_at_least_one_record(tmp_path):
    base = write(tmp_path / "base.json", [llava("only")])
    _, stage3, stats = run(tmp_path, {"base": base}, fraction=0.01)
    assert len(stage3) == 1 and stats["stage3"] == 1


@pytest.mark.parametrize("bad, message", [
    ({"id": "x1", "image": "a.png", "conversations": []}, "x1"),
    ({"id": "x2", "image": "a.png", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}, "x2"),
    ({"id": "x3", "image": "a.png", "conversations": [{"from": "human", "value": "a"}]}, "x3"),
])
def test_malformed_record_names_file_and_record(tmp_path, bad, message):
    path = write(tmp_path / "bad.json", [llava("fine"), bad])
    with pytest.raises(InputError, match=rf"bad\.json: record '{message}'"):
        run(tmp_path, {"base": path})
