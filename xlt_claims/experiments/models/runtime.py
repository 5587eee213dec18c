"""Device, precision and seeding helpers shared by the train loop, the embedding helpers and benchmarks.

Precision policy: CUDA -> bf16 autocast (+ TF32 matmuls) when the GPU supports bf16; CPU -> bf16 autocast
when the CPU has native bf16 (avx512_bf16 or AMX), otherwise fp32. `precision="fp32"` disables autocast.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
from functools import lru_cache
from typing import Any, Optional


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """Native bf16 on this CPU: avx512_bf16 or AMX-BF16 in /proc/cpuinfo, and oneDNN agrees."""
    flags = cpu_flags()
    native = bool({"avx512_bf16", "amx_bf16"} & flags)
    if not native:
        return False
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - older torch
        return native


def autocast_dtype(device_type: str, precision: str = "auto"):
    """torch dtype for autocast on this device, or None for fp32."""
    import torch

    if precision in ("fp32", "float32", "no", "none", None):
        return None
    if precision not in ("auto", "bf16", "bfloat16"):
        raise ValueError(f"unknown precision {precision!r}: use auto, bf16 or fp32")
    if device_type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device_type == "cpu":
        if precision in ("bf16", "bfloat16"):
            return torch.bfloat16  # explicitly requested: emulated if not native
        return torch.bfloat16 if cpu_supports_bf16() else None
    return None


def autocast_context(device_type: str, enabled: bool = True, dtype: Any = None):
    import torch

    if not enabled:
        return contextlib.nullcontext()
    dtype = dtype or autocast_dtype(device_type)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=dtype)


def configure_backends(device_type: str, threads: Optional[int] = None) -> None:
    import torch

    if device_type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    if threads:
        torch.set_num_threads(int(threads))


def set_seeds(seed: int, deterministic: bool = False) -> None:
    """python, numpy and torch (CPU + all CUDA devices)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def device_description(device: str) -> dict[str, Any]:
    import torch

    d: dict[str, Any] = {"device": device, "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda") and torch.cuda.is_available():
        idx = torch.device(device).index or 0
        p = torch.cuda.get_device_properties(idx)
        d.update(name=p.name, total_memory_gb=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
                 cuda=torch.version.cuda, count=torch.cuda.device_count())
    else:
        name = platform.processor() or ""
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("model name"):
                        name = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        d.update(name=name or platform.machine(), cores=os.cpu_count(), capability=torch.backends.cpu.get_cpu_capability(),
                 bf16_native=cpu_supports_bf16())
    return d


def peak_memory_gb(device) -> Optional[float]:
    """Peak memory of this process: CUDA allocator peak on a GPU, max resident set size on the CPU."""
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    try:
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)  # GiB (Linux: KiB)
    except Exception:  # pragma: no cover
        return None


@contextlib.contextmanager
def restore_threads():
    """Leave torch's intra-op thread count as it was (a run may set its own)."""
    import torch

    before = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
