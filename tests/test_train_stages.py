"""`vtscale train` stages 1-3 end to end on tiny bootstrapped backbones, plus the
conversation dataset's input validation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from safetensors.torch import load_file

from test_bootstrap import TINY_LLM, TINY_VISION, make_world, run_bootstrap_clip, run_bootstrap_lm
from vtscale import cli
from vtscale.config import config_section
from vtscale.data.conversations import ConversationDataset
from vtscale.errors import ConfigError, InputError
from vtscale.model.config import ModelConfig
from vtscale.model.folder import TrainedSetting, read_trained_setting
from vtscale.model.setting import Setting
from vtscale.train import run
from vtscale.launch import launch_command
from vtscale.train.metrics import read_metrics
from vtscale.train.stage_setting import stage_setting

TINY_MODEL = {"vision": {**TINY_VISION, "text_context": 24}, "hd_views": 2,
              "fusion": {"layers": 1, "max_tokens": 4}, "llm": TINY_LLM}
TRAIN = {
    "stage1": {"steps": 4, "lr": 3e-3, "warmup": 0.1, "batch_size": 4, "grad_accum": 1},
    "stage2": {"epochs": 1, "lr": 3e-3, "warmup": 0.1, "batch_size": 4, "grad_accum": 1},
    "stage3": {"epochs": 1, "lr": 1e-3, "warmup": 0.1, "batch_size": 4, "grad_accum": 1,
               "max_samples": 8},
    "checkpoint_every": 2, "precision": "fp32", "num_processes": 1,
}


def cfg_json(**train_overrides) -> str:
    train = {**TRAIN, **train_overrides}
    return json.dumps({"seed": 0, "model": TINY_MODEL, "train": train,
                       "grid": {"n": [1, 2, 4], "m_default": 2}})


def dies_in_call(count: int, loss):
    """``loss`` that raises KeyboardInterrupt (a kill) on its ``count``-th call."""
    calls = {"n": 0}

    def dying(self, batch, *args):
        calls["n"] += 1
        if calls["n"] == count:
            raise KeyboardInterrupt
        return loss(self, batch, *args)
    return dying


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def world_and_backbones(tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    world = make_world(root / "world")
    assert run_bootstrap_clip(world, root, steps=2) == 0
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run_bootstrap_lm(world, root, steps=2) == 0
    AcceleratorState._reset_state(reset_partial_state=True)
    return world, root


def train_args(stage: int, world: Path, results: Path, name: str, *extra: str) -> list[str]:
    return ["--stage", str(stage), *extra, "--data", str(world / "conversations.json"),
            "--image-root", str(world), "--out", str(results / "models" / name),
            "--ckpt-dir", str(results / "checkpoints" / name),
            "--metrics", str(results / "train_metrics" / f"{name}.csv")]


def train_argv(cfg: str, stage: int, world: Path, results: Path, name: str, *extra: str) -> list[str]:
    """Stage 1 or 2 at the setting the workflow works out from ``cfg``, as it passes it."""
    setting = stage_setting(json.loads(cfg), f"stage{stage}")
    return ["--cfg", cfg, *train_args(stage, world, results, name, "--n", str(setting.n),
                                      "--m", str(setting.m), *extra)]


def train_stage1(world: Path, backbones: Path, results: Path) -> Path:
    """Stage 1 of the tiny test model on ``world``; returns its model folder."""
    assert run.main([*train_argv(cfg_json(),
        1, world, results, "stage1", "--vision-init", str(backbones / "bootstrap_clip"),
        "--llm-init", str(backbones / "bootstrap_lm"))]) == 0
    return results / "models" / "stage1"


def test_stages_1_2_3_end_to_end(world_and_backbones, tmp_path):
    from vtscale.model.vlm import VisionTokenModel
    world, backbones = world_and_backbones
    results = tmp_path / "results"
    train_stage1(world, backbones, results)
    rows = read_metrics(results / "train_metrics" / "stage1.csv")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert {"contrastive", "identity"} <= set(rows[0])
    summary = json.loads((results / "benchmarks" / "train_stage1.json").read_text())
    assert summary["steps"] == 4 and summary["n"] == 4 and summary["samples"] == 16

    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg_json(),
        2, world, results, "stage2", "--init", str(results / "models" / "stage1"))]) == 0
    summary = json.loads((results / "benchmarks" / "train_stage2.json").read_text())
    assert (summary["n"], summary["m"], summary["steps"]) == (4, 2, 3)   # 12 samples / batch 4
    assert read_trained_setting(results / "models" / "stage2") == TrainedSetting(2, Setting(4, 2), None)

    for variant, flags in [("with_question", []), ("without_question", ["--no-question"])]:
        AcceleratorState._reset_state(reset_partial_state=True)
        name = f"stage3/{variant}_n2_m1"
        assert run.main(["--cfg", cfg_json(), *train_args(
            3, world, results, name, "--init", str(results / "models" / "stage2"),
            "--n", "2", "--m", "1", *flags)]) == 0
        summary = json.loads((results / "benchmarks" / "train_stage3" / f"{variant}_n2_m1.json").read_text())
        assert summary["use_question"] == (variant == "with_question") and summary["steps"] == 2
        record = read_trained_setting(results / "models" / name)
        assert record == TrainedSetting(3, Setting(2, 1, variant == "with_question"), variant)

    # The LLM is frozen through all stages: stage-3 output carries the bootstrap LM's weights.
    bootstrap = load_file(str(backbones / "bootstrap_lm" / "model.safetensors"))
    final = VisionTokenModel.from_pretrained(results / "models" / "stage3" / "with_question_n2_m1")
    for name, value in final.llm.state_dict().items():
        if name in bootstrap:
            assert torch.equal(value, bootstrap[name]), name
    stage2 = VisionTokenModel.from_pretrained(results / "models" / "stage2")
    changed = [k for k, v in final.state_dict().items()
               if not k.startswith("llm.") and not torch.equal(v, stage2.state_dict()[k])]
    assert any(k.startswith("fusion.") for k in changed)
    answers = final.generate([ConversationDataset(world / "conversations.json", world)[0].image],
                             ["What colour is the shape?"], n=2, m=1, max_new_tokens=3)
    assert len(answers) == 1 and isinstance(answers[0], str)


@pytest.mark.parametrize("flags, message", [
    (["--n", "2", "--m", "3"], "config error: --m: 3 is more than its n (2)"),
    (["--n", "0", "--m", "1"], "config error: --n: 0 is less than 1"),
    (["--n", "2"], "--n/--m: stage 3 needs both"),
])
def test_bad_n_m_flags_name_the_flag(tmp_path, flags, message):
    args = ["--cfg", cfg_json(), "--init", "x", *flags,
            *train_args(3, tmp_path, tmp_path, "s3")[2:]]
    with pytest.raises(ConfigError, match=re.escape(message)):
        run.main(["--stage", "3", *args])


def test_every_stage_needs_its_setting_as_flags(tmp_path):
    """The workflow works the setting out (train/stage_setting.py); train takes no default."""
    with pytest.raises(ConfigError, match="--n/--m: stage 1 needs both"):
        run.main(["--cfg", cfg_json(), *train_args(1, tmp_path, tmp_path, "s1")])


def test_stage1_with_cached_views_and_fewer_queries(world_and_backbones, tmp_path):
    world, backbones = world_and_backbones
    stage1 = {"steps": 3, "lr": 3e-3, "batch_size": 4, "n": 2, "cache_views": True}
    assert run.main([*train_argv(cfg_json(stage1=stage1),
        1, world, tmp_path, "stage1", "--vision-init", str(backbones / "bootstrap_clip"),
        "--llm-init", str(backbones / "bootstrap_lm"))]) == 0
    summary = json.loads((tmp_path / "benchmarks" / "train_stage1.json").read_text())
    assert summary["n"] == 2 and summary["steps"] == 3
    losses = [r["loss"] for r in read_metrics(tmp_path / "train_metrics" / "stage1.csv")]
    assert len(losses) == 3 and all(loss == loss for loss in losses)


def test_stage1_as_the_authors_train_it(world_and_backbones, tmp_path):
    """Whole conversations at the base n and m, both CLIP towers trained, no W_t, the
    answers' σ mask and the batch identity term (config/paper.yaml's train.stage1)."""
    from vtscale.model.vlm import VisionTokenModel
    world, backbones = world_and_backbones
    stage1 = {"steps": 2, "lr": 3e-3, "batch_size": 4, "samples": "conversation",
              "identity": "batch", "answer_mask_sigma": 1.0, "answer_head": False,
              "train_vision_tower": True, "train_text_tower": True}
    assert run.main([*train_argv(cfg_json(stage1=stage1),
        1, world, tmp_path, "stage1", "--vision-init", str(backbones / "bootstrap_clip"),
        "--llm-init", str(backbones / "bootstrap_lm"))]) == 0
    summary = json.loads((tmp_path / "benchmarks" / "train_stage1.json").read_text())
    assert (summary["n"], summary["m"], summary["samples"]) == (4, 2, 8)   # 2 steps x 4 conversations
    assert read_trained_setting(tmp_path / "models" / "stage1") == TrainedSetting(1, Setting(4, 2), None)
    trained = VisionTokenModel.from_pretrained(tmp_path / "models" / "stage1").state_dict()
    backbone = load_file(str(backbones / "bootstrap_clip" / "open_clip_model.safetensors"))
    for tower in ("visual.transformer.", "transformer."):
        tower_keys = [k for k in backbone if k.startswith(tower)]
        assert any(not torch.equal(trained[f"clip.{k}"], backbone[k]) for k in tower_keys), tower


def test_stage2_with_cached_views_keeps_the_vit_frozen(world_and_backbones, tmp_path):
    from vtscale.model.vlm import VisionTokenModel
    world, backbones = world_and_backbones
    stage1 = tmp_path / "models" / "stage1"
    train_stage1(world, backbones, tmp_path)
    AcceleratorState._reset_state(reset_partial_state=True)
    stage2 = {**TRAIN["stage2"], "cache_views": True}
    assert run.main([*train_argv(cfg_json(stage2=stage2),
        2, world, tmp_path, "stage2", "--init", str(stage1))]) == 0
    before, after = (VisionTokenModel.from_pretrained(tmp_path / "models" / name).state_dict()
                     for name in ("stage1", "stage2"))
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert "fusion" in changed and "projection" in changed
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("clip.visual."))


def test_cached_and_pixel_generation_batches_give_the_same_loss(world_and_backbones):
    from vtscale.model.vlm import VisionTokenModel
    from vtscale.data.conversations import RecordDataset
    from vtscale.train.stage1_data import CachedConversationCollate, FrozenPatchCache
    world, backbones = world_and_backbones
    model = VisionTokenModel.from_config(
        config_section(ModelConfig, {"model": TINY_MODEL}, "model"),
        vision_init=str(backbones / "bootstrap_clip"), llm_init=str(backbones / "bootstrap_lm"))
    model.trainable_parameters(2, train_vision=False)
    model.eval()
    records = [RecordDataset(world / "conversations.json", world)[i] for i in range(3)]
    samples = [ConversationDataset(world / "conversations.json", world)[i] for i in range(3)]
    cached = CachedConversationCollate(model, Setting(4, 2), FrozenPatchCache(model))(records)
    plain = model.batch_builder.generation(samples, 4, 2)
    with torch.no_grad():
        a, b = model.generation_loss(cached)["loss"], model.generation_loss(plain)["loss"]
    assert torch.allclose(a, b, rtol=1e-5)


def test_cli_reports_bad_flag_as_one_line(tmp_path, capsys):
    rc = cli.main(["train", "--stage", "3", "--cfg", cfg_json(), "--init", "x", "--n", "1",
                   "--m", "2", *train_args(3, tmp_path, tmp_path, "s3")[2:]])
    assert rc == 1
    assert "config error: --m: 2 is more than its n (1)" in capsys.readouterr().err


def write_conversations(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records))
    return path


def test_dataset_strips_image_marker_and_pairs_turns(tmp_path):
    world = make_world(tmp_path / "w", count=2)
    dataset = ConversationDataset(world / "conversations.json", world)
    sample = dataset[1]
    assert sample.id == "scene_001" and sample.image.mode == "RGB"
    assert [t.question for t in sample.turns] == ["What colour is the shape?",
                                                  "Is there a square? Please answer yes or no."]
    assert [t.answer for t in sample.turns] == ["blue", "Yes"]


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.update(image="images/nope.png"), r"record 'scene_001': image file .*nope.png not found"),
    (lambda r: r.update(conversations=[]), r"record 'scene_001': empty conversation"),
    (lambda r: r["conversations"].reverse(), r"record 'scene_001': messages 0-1 come from"),
    (lambda r: r["conversations"].pop(), r"record 'scene_001': odd number of messages"),
])
def test_dataset_rejects_bad_records_naming_file_and_id(tmp_path, mutate, message):
    world = make_world(tmp_path / "w", count=2)
    records = json.loads((world / "conversations.json").read_text())
    mutate(records[1])
    path = write_conversations(tmp_path / "bad.json", records)
    with pytest.raises(InputError, match=rf"bad.json: {message}"):
        ConversationDataset(path, world)


@pytest.mark.slow
def test_two_process_cpu_run_matches_one_process_with_double_accumulation(world_and_backbones, tmp_path):
    """Two CPU processes (torchrun through `accelerate launch --multi_gpu`, gloo; note
    that `--cpu` makes accelerate start a single process) give the 1-process loss curve."""
    world, backbones = world_and_backbones
    losses = {}
    for procs, accum in [(1, 2), (2, 1)]:
        results = tmp_path / f"p{procs}"
        cfg = cfg_json(stage1={"steps": 3, "lr": 3e-3, "warmup": 0.1, "batch_size": 2,
                               "grad_accum": accum})
        # the pipeline's own launch command, with this interpreter's accelerate
        launch = [sys.executable, "-m", "vtscale.cli"] if procs == 1 else [
            sys.executable, "-m", "accelerate.commands.launch", *launch_command(2, cpu=True)[2:]]
        subprocess.run([*launch, "train", *train_argv(cfg,
            1, world, results, "stage1", "--vision-init", str(backbones / "bootstrap_clip"),
            "--llm-init", str(backbones / "bootstrap_lm"))], check=True,
            env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        losses[procs] = [r["loss"] for r in read_metrics(results / "train_metrics" / "stage1.csv")]
        summary = json.loads((results / "benchmarks" / "train_stage1.json").read_text())
        assert summary["num_processes"] == procs and summary["samples"] == 12
    assert losses[2] == pytest.approx(losses[1], rel=1e-3, abs=1e-4)


def test_max_samples_is_a_seeded_subset(tmp_path):
    world = make_world(tmp_path / "w", count=12)
    ids = lambda seed: [s.id for s in ConversationDataset(world / "conversations.json", world, 5, seed).records]
    assert ids(3) == ids(3) and len(ids(3)) == 5 and ids(3) == sorted(ids(3))
    assert ids(3) != ids(4)


def test_stage2_killed_and_rerun_reaches_the_uninterrupted_weights(world_and_backbones, tmp_path,
                                                                  monkeypatch):
    from vtscale.model.vlm import VisionTokenModel
    world, backbones = world_and_backbones
    results = tmp_path / "results"
    cfg = cfg_json(checkpoint_every=1)
    assert run.main([*train_argv(cfg,
        1, world, results, "stage1", "--vision-init", str(backbones / "bootstrap_clip"),
        "--llm-init", str(backbones / "bootstrap_lm"))]) == 0
    init = ["--init", str(results / "models" / "stage1")]
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg, 2, world, results, "full", *init)]) == 0

    original = VisionTokenModel.generation_loss
    monkeypatch.setattr(VisionTokenModel, "generation_loss", dies_in_call(3, original))
    AcceleratorState._reset_state(reset_partial_state=True)
    with pytest.raises(KeyboardInterrupt):
        run.main([*train_argv(cfg, 2, world, results, "killed", *init)])
    assert not (results / "models" / "killed").exists()
    monkeypatch.setattr(VisionTokenModel, "generation_loss", original)
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg, 2, world, results, "killed", *init)]) == 0

    full = load_file(str(results / "models" / "full" / "model.safetensors"))
    resumed = load_file(str(results / "models" / "killed" / "model.safetensors"))
    for name, value in full.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6)
    losses = [[r["loss"] for r in read_metrics(results / "train_metrics" / f"{n}.csv")]
              for n in ("full", "killed")]
    assert losses[1] == pytest.approx(losses[0], abs=1e-6) and len(losses[0]) == 3


def test_changed_stage1_retrains_stage2_and_rerun_starts_fresh(world_and_backbones, tmp_path,
                                                              monkeypatch):
    """Issue 22 item 1: stage 2 killed after a checkpoint, then stage 1 changes (another
    lr): stage 2 must not resume the checkpoint it wrote from the old stage 1. And a
    finished stage leaves no checkpoint, so a forced rerun trains again."""
    world, backbones = world_and_backbones
    results = tmp_path / "results"
    backbone_flags = ["--vision-init", str(backbones / "bootstrap_clip"),
                      "--llm-init", str(backbones / "bootstrap_lm")]
    cfg = cfg_json(checkpoint_every=1)
    assert run.main([*train_argv(cfg, 1, world, results, "stage1", *backbone_flags)]) == 0
    init = ["--init", str(results / "models" / "stage1")]
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg, 2, world, results, "stage2", *init)]) == 0
    assert not (results / "checkpoints" / "stage2").exists()
    assert not (results / "checkpoints" / "stage1").exists()

    # A stage 2 of the old stage 1, killed in step 3, leaves its step-2 checkpoint ...
    from vtscale.model.vlm import VisionTokenModel
    AcceleratorState._reset_state(reset_partial_state=True)
    monkeypatch.setattr(VisionTokenModel, "generation_loss",
                        dies_in_call(3, VisionTokenModel.generation_loss))
    with pytest.raises(KeyboardInterrupt):
        run.main([*train_argv(cfg, 2, world, results, "stage2_again", *init)])
    monkeypatch.undo()
    assert (results / "checkpoints" / "stage2_again" / "step_00000002").is_dir()

    # ... then stage 1 changes, and stage 2 rebuilds from it with the same ckpt dir.
    changed = cfg_json(checkpoint_every=1,
                       stage1={**TRAIN["stage1"], "lr": 2 * TRAIN["stage1"]["lr"]})
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(changed, 1, world, results, "stage1", *backbone_flags)]) == 0
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg, 2, world, results, "stage2_again", *init)]) == 0
    summary = json.loads((results / "benchmarks" / "train_stage2_again.json").read_text())
    assert summary["resumed_from"] == 0 and summary["steps"] == 3


def test_stage2_question_samples_with_warm_projection_and_held_out_check(world_and_backbones, tmp_path):
    """The demo's stage-2 recipe: one question per sample, the projection alone first,
    held-out images measured per question kind every step into gates.json."""
    world, backbones = world_and_backbones
    results = tmp_path / "results"
    train_stage1(world, backbones, results)
    stage2 = {**TRAIN["stage2"], "samples": "question", "warm_projection_steps": 2,
              "warm_projection_lr": 1e-2, "held_out": 3, "probe_every": 1, "cache_views": True}
    AcceleratorState._reset_state(reset_partial_state=True)
    assert run.main([*train_argv(cfg_json(stage2=stage2),
        2, world, results, "stage2", "--init", str(results / "models" / "stage1"))]) == 0
    warm = read_metrics(results / "train_metrics" / "stage2_projection.csv")
    assert [r["step"] for r in warm] == [1, 2]
    summary = json.loads((results / "benchmarks" / "train_stage2.json").read_text())
    # 12 images x 2 questions, 3 images held out: 18 single-question samples / batch 4
    assert summary["samples_in_data"] == 18 and summary["steps"] == 5
    gate = json.loads((results / "models" / "stage2" / "gates.json").read_text())
    assert gate["gate"] == "stage2" and [p["step"] for p in gate["curve"]] == [1, 2, 3, 4, 5]
    assert gate["figures"]["color"]["target"] == pytest.approx(gate["figures"]["color_blind"]["value"] + 0.1)
    assert not (results / "checkpoints" / "stage2").exists()


def test_stage2_draws_each_batchs_n_and_checks_the_draw_bounds(world_and_backbones):
    from vtscale.model.vlm import VisionTokenModel
    from vtscale.data.conversations import RecordDataset
    from vtscale.train.config import TrainConfig
    world, backbones = world_and_backbones
    model = VisionTokenModel.from_config(
        config_section(ModelConfig, {"model": TINY_MODEL}, "model"),
        vision_init=str(backbones / "bootstrap_clip"), llm_init=str(backbones / "bootstrap_lm"))
    dataset = RecordDataset(world / "conversations.json", world)
    drawn = TrainConfig(steps=1, cache_views=True, batch_ns=(1, 4))
    collate = run.make_task(2, model, dataset, Setting(4, 2), drawn).collate
    counts = set()
    for i in range(len(dataset)):
        batch, turns = collate([dataset[i], dataset[i - 1]]), len(dataset[i].turns)
        count = int((batch["fused_batch"] == 0).sum())     # n + m * (turns - 1) for sample 0
        counts.add({turns: 1, 2 * turns + 2: 4}[count])
    assert counts == {1, 4}
    too_many = TrainConfig(steps=1, cache_views=True, batch_ns=(1, 64))
    with pytest.raises(ConfigError, match="train.stage2.batch_ns n: 64 is more than model.fusion.max_tokens"):
        run.make_task(2, model, dataset, Setting(4, 2), too_many)
    with pytest.raises(ConfigError, match="train.stage3.batch_ns: stage 3 trains its own setting only"):
        run.make_task(3, model, dataset, Setting(4, 2), drawn)
