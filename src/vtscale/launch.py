"""How training commands are launched: plain `vtscale` for one process, `accelerate
launch` for several (DDP, DeepSpeed ZeRO-2 or FSDP), so one Snakefile serves a laptop
CPU, one GPU node and a SLURM cluster."""

from __future__ import annotations

import shlex

DISTRIBUTED_FLAGS = {
    "none": [],
    "ddp": ["--multi_gpu"],
    "deepspeed_zero2": ["--use_deepspeed", "--zero_stage", "2"],
    "fsdp": ["--use_fsdp", "--fsdp_sharding_strategy", "SHARD_GRAD_OP"],
}
PRECISION_FLAGS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def launch_command(num_processes: int = 1, distributed: str = "ddp", precision: str = "fp32",
                   cpu: bool = False) -> list[str]:
    """The argv prefix that runs `vtscale <subcommand> ...` on ``num_processes`` workers."""
    if num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}")
    if num_processes == 1 and not cpu:
        return ["vtscale"]
    if distributed not in DISTRIBUTED_FLAGS:
        raise ValueError(f"train.distributed must be one of {sorted(DISTRIBUTED_FLAGS)}, got {distributed!r}")
    cmd = ["accelerate", "launch", "--num_processes", str(num_processes), "--num_machines", "1",
           "--mixed_precision", PRECISION_FLAGS[precision], "--dynamo_backend", "no"]
    if cpu:
        # `--cpu` runs a single process whatever --num_processes says (accelerate 1.x);
        # --multi_gpu starts real workers over torchrun, which fall back to gloo on CPU.
        cmd.append("--multi_gpu")
    elif num_processes > 1:
        cmd += DISTRIBUTED_FLAGS[distributed]
    return cmd + ["-m", "vtscale.cli"]


def launch_prefix(train_config: dict) -> str:
    """Shell-ready prefix from the config's `train` section."""
    return shlex.join(launch_command(
        num_processes=train_config.get("num_processes", 1),
        distributed=train_config.get("distributed", "ddp"),
        precision=train_config.get("precision", "fp32"),
    ))
