import pytest

from vtscale.launch import launch_command, launch_prefix


def test_single_process_runs_vtscale_directly():
    assert launch_command(1) == ["vtscale"]
    assert launch_prefix({"num_processes": 1, "precision": "bf16"}) == "vtscale"


def test_eight_gpus_with_deepspeed_bf16():
    cmd = launch_command(8, "deepspeed_zero2", "bf16")
    assert cmd[:4] == ["accelerate", "launch", "--num_processes", "8"]
    assert cmd[cmd.index("--mixed_precision") + 1] == "bf16"
    assert cmd[cmd.index("--zero_stage") + 1] == "2" and "--use_deepspeed" in cmd
    assert cmd[-2:] == ["-m", "vtscale.cli"]


def test_eight_gpus_ddp_and_fsdp():
    assert "--multi_gpu" in launch_command(8, "ddp", "bf16")
    assert "--use_fsdp" in launch_command(8, "fsdp", "bf16")


def test_cpu_processes_use_torchrun_workers_without_gpu_backends():
    cmd = launch_command(2, "deepspeed_zero2", "fp32", cpu=True)
    assert "--multi_gpu" in cmd and "--cpu" not in cmd and "--use_deepspeed" not in cmd
    assert cmd[cmd.index("--mixed_precision") + 1] == "no"


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="num_processes"):
        launch_command(0)
    with pytest.raises(ValueError, match="train.distributed"):
        launch_command(4, "horovod")
