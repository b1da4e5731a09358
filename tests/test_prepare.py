"""`vtscale prepare-data` and `vtscale link-benchmarks` on small fixtures in the real formats,
offline (local copies and a fake HF cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vtscale import cli
from vtscale.data import prepare
from vtscale.errors import ConfigError, InputError

REV = "89abcdef0123456789abcdef0123456789abcdef"

MIX665K = [
    {"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
     "conversations": [{"from": "human", "value": "What are the colors of the bus in the image?\n<image>"},
                       {"from": "gpt", "value": "The bus in the image is white and red."}]},
    {"id": "000000052846", "image": "coco/train2017/000000052846.jpg",          # image not downloaded
     "conversations": [{"from": "human", "value": "<image>\nWhere is the cat?"},
                       {"from": "gpt", "value": "On the sofa."}]},
    {"id": "i6IyJda_0", "model": "",                                             # ShareGPT, text only
     "conversations": [{"from": "human", "value": "Summarise this."}, {"from": "gpt", "value": "Sure."}]},
]
SVIT_CONVERSATION = [{"image_id": 107899, "conversations": [
    {"content": [{"from": "user", "value": "What is in the kitchen?"}, {"from": "gpt", "value": "A fridge."}]}]}]
SVIT_DETAIL = [{"image_id": 107899, "conversations": [{"content": [
    {"from": "user", "value": "Describe the image in detail."},
    {"from": "gpt", "value": "A kitchen with a white fridge. "}]}]}]
DOC_DOWNSTREAM = [
    {"image": ["./imgs/DUE_Benchmark/DocVQA/pngs/xnbl0037_1.png"],
     "messages": [{"role": "user", "content": "<|image|>What is the date mentioned?"},
                  {"role": "assistant", "content": "March 2, 1998"}],
     "task_name": "qa_sft", "dataset_name": "DocVQA"}]
STRUCT_PARSE = [
    {"image": ["./imgs/CCpdf/page_7.jpg"],
     "messages": [{"role": "user", "content": "<|image|>Recognize text in the image."},
                  {"role": "assistant", "content": "Introduction\nThe results show a clear trend."}],
     "task_name": "struct_aware_parse", "dataset_name": "CCpdf"}]
IMAGES = ["coco/train2017/000000033471.jpg", "vg/VG_100K_2/107899.jpg",
          "imgs/DUE_Benchmark/DocVQA/pngs/xnbl0037_1.png", "imgs/CCpdf/page_7.jpg"]


def write(path: Path, rows, jsonl=False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) if jsonl else json.dumps(rows))
    return path


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """Images, local copies of three datasets and DocStruct4M in a fake offline HF cache."""
    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    images = tmp_path / "images"
    for name in IMAGES:
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        (images / name).write_bytes(b"\xff\xd8")
    mix = write(tmp_path / "llava" / "llava_v1_5_mix665k.json", MIX665K)
    write(tmp_path / "svit" / "data" / "conversation.json", SVIT_CONVERSATION)
    write(tmp_path / "svit" / "data" / "detail_description.json", SVIT_DETAIL)
    downstream = write(tmp_path / "docdownstream" / "train.jsonl", DOC_DOWNSTREAM, jsonl=True)
    repo = home / "hub" / "datasets--mPLUG--DocStruct4M"
    write(repo / "snapshots" / REV / "struct_aware_parse.jsonl", STRUCT_PARSE, jsonl=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REV)
    datasets = {
        "llava_mix665k": {"hub": "liuhaotian/LLaVA-Instruct-150K", "file": "llava_v1_5_mix665k.json",
                          "local": str(mix)},
        "svit": {"hub": "BAAI/SVIT", "file": ["data/conversation.json", "data/detail_description.json"],
                 "descriptions": "data/detail_description.json", "local": str(tmp_path / "svit")},
        "docstruct4m": {"hub": "mPLUG/DocStruct4M", "file": "struct_aware_parse.jsonl", "local": None},
        "docdownstream": {"hub": "mPLUG/DocDownstream-1.0", "file": "train.jsonl", "local": str(downstream)},
        "dpo": {"hub": "Intel/orca_dpo_pairs", "local": None},
        "images_root": str(images), "benchmarks_root": None,
    }
    return {"datasets": datasets, "images": images, "out": tmp_path / "data"}


def run_prepare(raw) -> int:
    return prepare.main(["--cfg", json.dumps({"datasets": raw["datasets"], "seed": 0}),
                         "--out", str(raw["out"])])


def test_prepare_writes_internal_formats(raw):
    assert run_prepare(raw) == 0
    out = raw["out"]
    conversations = json.loads((out / "conversations.json").read_text())
    assert [c["id"] for c in conversations] == [
        "000000033471", "svit_107899_0", "svit_107899_0#1", "train_1"]   # SVIT ids repeat across task files
    assert [c["image"] for c in conversations] == [
        "pages/coco/train2017/000000033471.jpg", "pages/vg/VG_100K_2/107899.jpg",
        "pages/vg/VG_100K_2/107899.jpg", "pages/imgs/DUE_Benchmark/DocVQA/pngs/xnbl0037_1.png"]
    assert conversations[3]["conversations"][0] == {"from": "human", "value": "<image>\nWhat is the date mentioned?"}
    assert json.loads((out / "descriptions.json").read_text()) == [
        {"id": "svit_107899", "image": "pages/vg/VG_100K_2/107899.jpg",
         "description": "A kitchen with a white fridge."}]
    docs = [json.loads(line) for line in (out / "docs.jsonl").read_text().splitlines()]
    assert docs == [{"id": "struct_aware_parse_1", "image": "pages/imgs/CCpdf/page_7.jpg",
                     "text": "Introduction\nThe results show a clear trend.", "kind": "struct_aware_parse"}]
    assert (out / "pages").is_symlink() and (out / "pages").resolve() == raw["images"].resolve()
    for record in conversations + docs:                       # every image resolves relative to DATA
        assert (out / record["image"]).is_file()
    assert sorted(p.name for p in out.iterdir()) == ["conversations.json", "descriptions.json",
                                                     "docs.jsonl", "pages"]      # no temporary files left


def test_prepare_reruns_in_place(raw):
    assert run_prepare(raw) == 0
    assert run_prepare(raw) == 0
    assert (raw["out"] / "pages").is_symlink()


def test_images_root_required_and_existing(raw):
    raw["datasets"]["images_root"] = None
    with pytest.raises(InputError, match=r"^datasets.images_root is not set"):
        run_prepare(raw)
    raw["datasets"]["images_root"] = str(raw["images"] / "missing")
    with pytest.raises(InputError, match=r"^datasets.images_root: .*missing is not a folder"):
        run_prepare(raw)


def test_no_images_found_is_an_error(raw, tmp_path):
    (tmp_path / "empty").mkdir()
    raw["datasets"]["images_root"] = str(tmp_path / "empty")
    with pytest.raises(InputError, match=r"no conversations left: none of their images is under"):
        run_prepare(raw)


def test_uncached_hub_dataset_offline_names_the_entry(raw):
    raw["datasets"]["docdownstream"]["local"] = None
    with pytest.raises(InputError, match=r"^mPLUG/DocDownstream-1.0: train.jsonl is not in the local cache "
                                         r".* HF_HUB_OFFLINE=1: run once online or set datasets.docdownstream.local"):
        run_prepare(raw)


def test_missing_local_copy_and_bad_record(raw, tmp_path):
    raw["datasets"]["svit"]["local"] = str(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"^datasets.svit.local: .*nowhere not found"):
        run_prepare(raw)
    raw["datasets"]["svit"]["local"] = str(tmp_path / "svit")
    write(tmp_path / "docdownstream" / "train.jsonl", [{"image": ["a.png"], "messages": []}], jsonl=True)
    with pytest.raises(InputError, match=r"train.jsonl: line 1: needs 'image'"):
        run_prepare(raw)


def test_config_errors(raw):
    raw["datasets"]["svit"].pop("descriptions")
    with pytest.raises(ConfigError, match="datasets.svit.descriptions"):
        run_prepare(raw)
    raw["datasets"]["svit"]["colour"] = "red"
    with pytest.raises(ConfigError, match="unknown key datasets.svit.colour"):
        run_prepare(raw)


def test_cli_reports_one_line(raw, capsys):
    raw["datasets"]["images_root"] = None
    code = cli.main(["prepare-data", "--cfg", json.dumps({"datasets": raw["datasets"], "seed": 0}),
                     "--out", str(raw["out"])])
    assert code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "vtscale.prepare-data: datasets.images_root is not set" in errors[0]


# ---------------------------------------------------------------- link-benchmarks
def test_link_benchmarks_from_root_and_env(tmp_path, monkeypatch):
    lmu = tmp_path / "LMUData"
    lmu.mkdir()
    (lmu / "MME.tsv").write_text("index\tquestion\n0\tIs it red?\n")
    (lmu / "POPE.tsv").write_text("index\tquestion\n0\tIs there a dog?\n")
    outs = [tmp_path / "data" / "benchmarks" / "MME.tsv", tmp_path / "data" / "benchmarks" / "POPE.tsv"]
    assert cli.main(["link-benchmarks", "--root", str(lmu), *map(str, outs)]) == 0
    assert all(o.is_symlink() and o.resolve() == (lmu / o.name).resolve() for o in outs)
    assert outs[0].read_text().startswith("index\tquestion")

    for o in outs:
        o.unlink()
    monkeypatch.setenv("LMUData", str(lmu))                    # empty --root: VLMEvalKit's $LMUData
    assert prepare.main(["--root", "", *map(str, outs)]) == 0
    assert outs[1].is_symlink()
    assert prepare.main(["--root", "", *map(str, outs)]) == 0   # again: links replaced in place


def test_link_benchmarks_missing_tsv(tmp_path):
    (tmp_path / "LMUData").mkdir()
    with pytest.raises(InputError, match=r"LMUData/MMStar.tsv: VLMEvalKit TSV MMStar.tsv not found: run "
                                         r"VLMEvalKit once on MMStar"):
        prepare.main(["link-benchmarks", "--root", str(tmp_path / "LMUData"),
                      str(tmp_path / "data" / "benchmarks" / "MMStar.tsv")])


def test_paper_rules_prepare_and_link(raw, tmp_path, repo_root, venv_env):
    """The paper profile's two data rules through Snakemake, on the local fixtures."""
    import subprocess

    import yaml

    lmu = tmp_path / "LMUData"
    lmu.mkdir()
    for name in ("MME", "POPE"):
        (lmu / f"{name}.tsv").write_text("index\tquestion\tanswer\n0\tIs it red?\tYes\n")
    config = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    config["eval"]["benchmarks"] = {k: v for k, v in config["eval"]["benchmarks"].items() if k in ("MME", "POPE")}
    data, results = tmp_path / "paper_data", tmp_path / "paper_results"
    config.update(data_dir=str(data), results_dir=str(results), dvc={"track": False},
                  datasets={**raw["datasets"], "benchmarks_root": str(lmu)})
    (tmp_path / "paper.yaml").write_text(yaml.safe_dump(config))
    env = {**venv_env, "HF_HOME": str(tmp_path / "hf_home")}
    targets = [f"{data}/conversations.json", f"{data}/benchmarks/MME.tsv", f"{data}/benchmarks/POPE.tsv"]
    proc = subprocess.run(["snakemake", "-c1", "--configfile", str(tmp_path / "paper.yaml"), "--", *targets],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (data / "pages").is_symlink() and not (raw["images"] / ".snakemake_timestamp").exists()
    assert len(json.loads((data / "conversations.json").read_text())) == 4
    assert (data / "benchmarks" / "POPE.tsv").resolve() == (lmu / "POPE.tsv").resolve()
    proc = subprocess.run(["snakemake", "-n", "--configfile", str(tmp_path / "paper.yaml"), "--", *targets],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_conversion_applies_the_authors_rewrites(raw, tmp_path):
    from PIL import Image

    Image.new("RGB", (300, 200), "white").save(raw["images"] / "coco/train2017/000000033471.jpg", "PNG")
    mix = [
        {"id": "box", "image": "coco/train2017/000000033471.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat is in [0.2, 0.25, 0.5, 0.75]?"},
            {"from": "gpt", "value": "A bus."}]},
        {"id": "ocr", "image": "coco/train2017/000000033471.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat is written?\nReference OCR token: STOP"},
            {"from": "gpt", "value": "STOP"}]},
        {"id": "long", "image": "coco/train2017/000000033471.jpg", "conversations": [
            {"from": "human" if i % 2 == 0 else "gpt", "value": f"m{i}"} for i in range(60)]},
    ]
    write(Path(raw["datasets"]["llava_mix665k"]["local"]), mix)
    referring = [{"image_id": 107899, "conversations": [
        {"content": [{"from": "user", "value": f"Where is [0.1, 0.1, 0.2, 0.2] #{k}?"},
                     {"from": "gpt", "value": "On the left."}]} for k in range(23)]}]
    write(tmp_path / "svit" / "data" / "referring_qa.json", referring)
    raw["datasets"]["svit"]["file"] = ["data/conversation.json", "data/referring_qa.json"]
    raw["datasets"]["conversion"] = {"bbox_tags": True, "llava_drop_reference_ocr": True,
                                     "llava_max_messages": 48, "svit_max_rounds": 10}
    assert run_prepare(raw) == 0
    records = {c["id"]: c for c in json.loads((raw["out"] / "conversations.json").read_text())}
    assert "ocr" not in records
    assert records["box"]["conversations"][0]["value"] == "<image>\nWhat is in <bbox>199,124,499,874</bbox>?"
    assert len(records["long"]["conversations"]) == 48
    packed = [c for c in records.values() if "Where is" in c["conversations"][0]["value"]]
    assert [len(c["conversations"]) // 2 for c in packed] == [5, 5, 5, 5, 3]   # 23 rounds, at most 10
    assert packed[0]["conversations"][0]["value"] == "<image>\nWhere is <bbox>99,99,199,199</bbox> #0?"
    assert records["svit_107899_0"]["conversations"][1]["value"] == "A fridge."  # conversation.json: as before


def test_defaults_keep_records_as_loaded(raw):
    assert run_prepare(raw) == 0
    conversations = json.loads((raw["out"] / "conversations.json").read_text())
    assert conversations[0]["conversations"][0]["value"] == "What are the colors of the bus in the image?\n<image>"


def test_paper_profile_prepares_as_the_authors():
    from vtscale.config import config_section
    from vtscale.config_checks import load_profile
    from vtscale.data.config import DatasetsConfig

    paper = load_profile(Path(__file__).parents[1] / "config" / "paper.yaml",
                         Path(__file__).parents[1] / "config" / "schema.yaml")
    cfg = config_section(DatasetsConfig, paper, "datasets")
    assert "data/referring_qa.json" in cfg.svit.files() and len(cfg.svit.files()) == 4
    assert (cfg.conversion.bbox_tags, cfg.conversion.llava_drop_reference_ocr,
            cfg.conversion.llava_max_messages, cfg.conversion.svit_max_rounds) == (True, True, 48, 10)
    assert cfg.conversion.svit_min_first_message == 4


def test_conversion_config_errors(raw):
    raw["datasets"]["conversion"] = {"llava_max_messages": 47}
    with pytest.raises(ConfigError, match=r"datasets.conversion.llava_max_messages: an even number"):
        run_prepare(raw)
