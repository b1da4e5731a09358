"""GPU utilisation and memory while a block of generations runs (paper Table 6).

Utilisation is NVML's (``torch.cuda.utilization``, needs nvidia-ml-py), sampled in a
background thread; memory is what PyTorch's allocator holds on the device (weights,
activations, KV cache), sampled alike for the mean and read from its peak counter. Off
CUDA there is nothing to measure: every column is NaN.
"""

from __future__ import annotations

import math
import statistics
import threading

import torch

GPU_COLUMNS = ("gpu_util_pct", "peak_memory_gib", "mean_memory_gib")
GIB = 2 ** 30
SAMPLE_INTERVAL_S = 0.05


def nvml_errors() -> tuple[type[BaseException], ...]:
    """What ``torch.cuda.utilization`` raises where NVML cannot tell: no nvidia-ml-py, no
    driver, an NVML error."""
    try:
        from pynvml import NVMLError
    except ImportError:
        return (ModuleNotFoundError, RuntimeError)
    return (ModuleNotFoundError, RuntimeError, NVMLError)


def read_utilisation(device: torch.device) -> float | None:
    """NVML's percentage of recent time a kernel ran on ``device``; None without NVML."""
    try:
        return float(torch.cuda.utilization(device))
    except nvml_errors():
        return None


class GpuMonitor:
    """``with GpuMonitor(device) as gpu: ...`` then ``gpu.columns()``: mean utilisation,
    peak and mean allocated memory over the block."""

    def __init__(self, device: torch.device, interval_s: float = SAMPLE_INTERVAL_S):
        self.device = device
        self.interval_s = interval_s
        self.cuda = device.type == "cuda"
        self.utilisation: list[float] = []
        self.memory: list[int] = []
        self.nvml = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuMonitor:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            torch.cuda.synchronize(self.device)
            self._stop.set()
            self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.memory.append(torch.cuda.memory_allocated(self.device))
            if self.nvml:
                value = read_utilisation(self.device)
                self.nvml = value is not None
                if value is not None:
                    self.utilisation.append(value)
            self._stop.wait(self.interval_s)

    def columns(self) -> dict[str, float]:
        if not self.cuda:
            return {name: math.nan for name in GPU_COLUMNS}
        return {"gpu_util_pct": statistics.fmean(self.utilisation) if self.utilisation else math.nan,
                "peak_memory_gib": torch.cuda.max_memory_allocated(self.device) / GIB,
                "mean_memory_gib": statistics.fmean(self.memory) / GIB if self.memory else math.nan}
