"""The shared training loop on a toy regression task (no vtscale model needed)."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file
from accelerate.state import AcceleratorState, GradientState
from torch import nn
from torch.utils.data import Dataset

from vtscale.train.checkpoint import latest_checkpoint
from vtscale.train.config import TrainConfig
from vtscale.train.loop import Task, micro_batch_groups, train
from vtscale.train.metrics import read_metrics, summary_path_for


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


class ToyData(Dataset):
    def __init__(self, size: int = 22):
        generator = torch.Generator().manual_seed(123)
        self.x = torch.randn(size, 4, generator=generator)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def collate(items):
    xs, ys = zip(*items)
    return {"x": torch.stack(xs), "y": torch.stack(ys)}


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))
        with torch.random.fork_rng():  # like the LLM, the frozen part comes from a fixed source
            torch.manual_seed(1234)
            self.frozen = nn.Linear(4, 1)  # must get no gradient; not saved in checkpoints

    def forward(self, x):
        return (self.net(x) + 0.1 * self.frozen(x)).squeeze(-1)


class Killed(RuntimeError):
    pass


def toy_task(seed: int = 0, kill_after_calls: int | None = None) -> Task:
    torch.manual_seed(seed)
    model = ToyModel()
    calls = {"n": 0}

    def loss(module, batch):
        calls["n"] += 1
        if kill_after_calls is not None and calls["n"] > kill_after_calls:
            raise Killed()
        pred = module(batch["x"])
        mse = ((pred - batch["y"]) ** 2).mean()
        l1 = (pred - batch["y"]).abs().mean()
        return {"loss": mse + 0.1 * l1, "mse": mse, "l1": l1}

    params = [p for name, p in model.named_parameters() if not name.startswith("frozen")]
    return Task(model=model, parameters=params, dataset=ToyData(), collate=collate, loss=loss)


def config(**overrides) -> TrainConfig:
    base = dict(epochs=3, lr=0.05, warmup=0.2, batch_size=4, grad_accum=4, checkpoint_every=2, seed=7)
    base.update(overrides)
    if "steps" in overrides:
        base.pop("epochs")
    return TrainConfig(**base)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_micro_batch_groups_cover_epoch_with_short_last_group():
    assert list(micro_batch_groups(6, 4, 0)) == [4, 2]
    assert list(micro_batch_groups(6, 4, 1)) == [2]
    assert list(micro_batch_groups(8, 2, 1)) == [2, 2, 2]


@pytest.mark.parametrize("every, kill_after_calls, newest", [
    (2, 4 + 2 + 2, 2),   # killed inside step 4 (epoch 2); resumes at an epoch start
    (1, 4 + 1, 1),       # killed inside step 2; resumes mid-epoch, skipping 4 batches
])
def test_resume_after_kill_matches_uninterrupted_run(tmp_path, every, kill_after_calls, newest):
    cfg = config(checkpoint_every=every)  # 22 samples / batch 4 = 6 batches = 2 steps/epoch
    full_model, full = train(toy_task(), cfg, tmp_path / "ck_full", tmp_path / "full.csv")
    assert full.steps == 6

    with pytest.raises(Killed):
        train(toy_task(kill_after_calls=kill_after_calls), cfg, tmp_path / "ck", tmp_path / "run.csv")
    assert latest_checkpoint(tmp_path / "ck").name == f"step_{newest:08d}"
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    # A different initial model: everything must come back from the checkpoint.
    resumed_model, resumed = train(toy_task(seed=99), cfg, tmp_path / "ck", tmp_path / "run.csv")
    assert resumed.resumed_from == newest and resumed.steps == 6

    for name, value in weights(full_model).items():
        torch.testing.assert_close(weights(resumed_model)[name], value, rtol=0, atol=1e-6)
    full_rows, resumed_rows = read_metrics(tmp_path / "full.csv"), read_metrics(tmp_path / "run.csv")
    assert [r["step"] for r in resumed_rows] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(full_rows, resumed_rows):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-6)
        assert a["lr"] == pytest.approx(b["lr"], abs=1e-12)


def test_rerun_after_finish_trains_nothing(tmp_path):
    cfg = config(steps=2)
    first_model, _ = train(toy_task(), cfg, tmp_path / "ck", tmp_path / "m.csv")
    AcceleratorState._reset_state(reset_partial_state=True)
    again_model, again = train(toy_task(seed=5), cfg, tmp_path / "ck", tmp_path / "m.csv")
    assert again.resumed_from == 2 and again.steps == 2
    for name, value in weights(first_model).items():
        torch.testing.assert_close(weights(again_model)[name], value, rtol=0, atol=0)


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    """A changed config (here the learning rate) starts over instead of loading a stale state."""
    train(toy_task(), config(steps=4, lr=0.05), tmp_path / "ck", tmp_path / "m.csv")
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    changed_model, changed = train(toy_task(), config(steps=4, lr=0.01), tmp_path / "ck", tmp_path / "m.csv")
    assert changed.resumed_from == 0 and changed.steps == 4
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    fresh_model, _ = train(toy_task(), config(steps=4, lr=0.01), tmp_path / "ck2", tmp_path / "f.csv")
    for name, value in weights(fresh_model).items():
        torch.testing.assert_close(weights(changed_model)[name], value, rtol=0, atol=0)
    assert [r["step"] for r in read_metrics(tmp_path / "m.csv")] == [1, 2, 3, 4]


def test_cosine_schedule_with_warmup_values(tmp_path):
    cfg = config(steps=10, warmup=0.2, lr=0.1, grad_accum=1)
    train(toy_task(), cfg, tmp_path / "ck", tmp_path / "m.csv")
    lrs = [r["lr"] for r in read_metrics(tmp_path / "m.csv")]
    warm = 2
    expected = [0.1 * s / warm for s in range(warm)]
    expected += [0.1 * 0.5 * (1 + math.cos(math.pi * (s - warm) / (10 - warm))) for s in range(warm, 10)]
    assert lrs == pytest.approx(expected, abs=1e-9)


def test_grad_accumulation_equals_one_big_batch(tmp_path):
    # No dropout randomness difference matters: eval-free model without dropout.
    def task():
        t = toy_task()
        t.model.net[1].p = 0.0
        return t

    small, _ = train(task(), config(steps=3, batch_size=2, grad_accum=4, epochs=None),
                     tmp_path / "a", tmp_path / "a.csv")
    AcceleratorState._reset_state(reset_partial_state=True)
    big, _ = train(task(), config(steps=3, batch_size=8, grad_accum=1, epochs=None),
                   tmp_path / "b", tmp_path / "b.csv")
    for name, value in weights(big).items():
        torch.testing.assert_close(weights(small)[name], value, rtol=1e-5, atol=1e-6)
    a, b = read_metrics(tmp_path / "a.csv"), read_metrics(tmp_path / "b.csv")
    assert [r["loss"] for r in a] == pytest.approx([r["loss"] for r in b], abs=1e-5)


def test_metrics_csv_columns_and_frozen_parameters(tmp_path):
    task = toy_task()
    frozen_before = weights(task.model.frozen)
    model, result = train(task, config(steps=3, grad_accum=1), tmp_path / "ck", tmp_path / "m.csv")
    rows = read_metrics(tmp_path / "m.csv")
    assert list(rows[0]) == ["step", "epoch", "loss", "l1", "mse", "grad_norm", "lr",
                             "samples_per_s", "tokens_per_s"]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(r["samples_per_s"] > 0 and r["grad_norm"] > 0 for r in rows)
    assert result.samples == 12 and result.final_loss == rows[-1]["loss"]
    assert rows[-1]["loss"] < rows[0]["loss"]
    for name, value in frozen_before.items():
        assert torch.equal(weights(model.frozen)[name], value)
    assert all(p.grad is None for p in model.frozen.parameters())
    saved = load_file(str(latest_checkpoint(tmp_path / "ck") / "model.safetensors"))
    assert saved and not any("frozen" in key for key in saved)


def test_config_needs_steps_or_epochs():
    from vtscale.config import config_section
    from vtscale.errors import ConfigError
    from vtscale.train.config import TrainSection
    with pytest.raises(ConfigError, match="config error: train.stage1: set exactly one of steps or epochs"):
        config_section(TrainSection, {"train": {"stage1": {"lr": 1e-3}}}, "train")
    train = {"stage1": {"steps": 5, "lr": 1e-3}, "checkpoint_every": 3, "num_processes": 1}
    cfg = config_section(TrainSection, {"train": train}, "train").stage("stage1", 4)
    assert (cfg.steps, cfg.checkpoint_every, cfg.seed) == (5, 3, 4)
    with pytest.raises(ConfigError, match="train.stage2: missing"):
        config_section(TrainSection, {"train": train}, "train").stage("stage2", 4)


def test_summary_path_sits_next_to_snakemake_benchmarks(tmp_path):
    assert summary_path_for("results/train_metrics/stage1.csv").as_posix() == \
        "results/benchmarks/train_stage1.json"
    assert summary_path_for("r/train_metrics/stage3/with_question_n4_m4.csv").as_posix() == \
        "r/benchmarks/train_stage3/with_question_n4_m4.json"
    assert summary_path_for("x/m.csv").as_posix() == "x/m.summary.json"


def test_checkpoint_of_other_inputs_is_not_resumed(tmp_path):
    """Issue 22 item 1: the same settings but other starting weights or data (another
    inputs digest) must train from scratch, not resume the old run's end."""
    cfg = config(steps=4)
    train(toy_task(), cfg, tmp_path / "ck", tmp_path / "m.csv", inputs="stage1-old")
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    _, again = train(toy_task(), cfg, tmp_path / "ck", tmp_path / "m.csv", inputs="stage1-new")
    assert again.resumed_from == 0 and again.steps == 4


def test_inputs_digest_follows_content_not_names(tmp_path):
    from vtscale.train.fingerprint import inputs_digest
    folder = tmp_path / "stage1"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"old weights")
    data = tmp_path / "train.json"
    data.write_text("[]")
    before = inputs_digest([folder, data, None, "meta-llama/Llama-2-7b-chat-hf"])
    assert before == inputs_digest([folder, data, None, "meta-llama/Llama-2-7b-chat-hf"])
    (folder / "model.safetensors").write_bytes(b"new weights")
    assert inputs_digest([folder, data, None, "meta-llama/Llama-2-7b-chat-hf"]) != before
    assert inputs_digest([data]) != inputs_digest(["meta-llama/Llama-2-7b-chat-hf"])


def _break(checkpoint, how: str) -> None:
    if how == "truncated_weights":
        path = next(checkpoint.glob("*.safetensors"))
        path.write_bytes(path.read_bytes()[:50])
    elif how == "empty_weights":
        next(checkpoint.glob("*.safetensors")).write_bytes(b"")
    elif how == "garbage_state":
        (checkpoint / "trainer_state.json").write_text("{not json")
    elif how == "random_optimizer":
        (checkpoint / "optimizer.bin").write_bytes(bytes(range(256)) * 8)


@pytest.mark.parametrize("how", ["truncated_weights", "empty_weights", "garbage_state",
                                 "random_optimizer"])
def test_corrupt_checkpoint_is_skipped_with_a_warning(tmp_path, how, caplog):
    """Issue 22 item 5: a broken checkpoint is skipped (one WARNING naming it) and the
    run starts over, ending exactly where an untouched fresh run ends."""
    cfg = config(steps=4, checkpoint_every=2)
    with pytest.raises(Killed):
        train(toy_task(kill_after_calls=4 + 2 + 4), cfg, tmp_path / "ck", tmp_path / "m.csv")
    broken = latest_checkpoint(tmp_path / "ck")
    assert broken is not None
    _break(broken, how)
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    with caplog.at_level("WARNING"):
        model, result = train(toy_task(), cfg, tmp_path / "ck", tmp_path / "m.csv")
    assert result.resumed_from == 0 and result.steps == 4
    assert any(broken.name in r.getMessage() and "cannot be read" in r.getMessage()
               for r in caplog.records)
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    fresh, _ = train(toy_task(), cfg, tmp_path / "ck2", tmp_path / "f.csv")
    for name, value in weights(fresh).items():
        torch.testing.assert_close(weights(model)[name], value, rtol=0, atol=0)
