"""What machine a benchmark ran on: every figure it prints must say (speeds differ up to 3x
between CPUs of one class, e.g. an AVX-512 Xeon against an AVX2-only EPYC)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# CPU family 6 models (Intel) that /proc/cpuinfo names only "Intel(R) Xeon(R) Processor" in VMs
INTEL_MODELS = {143: "Sapphire Rapids", 207: "Emerald Rapids", 173: "Granite Rapids", 106: "Ice Lake-SP", 85: "Cascade/Skylake-SP"}


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    path = Path("/proc/cpuinfo")
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    return info


def describe() -> str:
    """One line: CPU model (and generation where the name hides it), vector width, cores, load."""
    info = _cpuinfo()
    name = info.get("model name", platform.processor() or platform.machine())
    family, model = info.get("cpu family"), info.get("model")
    if family == "6" and model and model.isdigit() and int(model) in INTEL_MODELS:
        name += f" ({INTEL_MODELS[int(model)]}, family 6 model {model})"
    flags = set(info.get("flags", "").split())
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{name}, {vector}, {os.cpu_count()} cores, load average {load:.1f}"


if __name__ == "__main__":
    print(describe())
