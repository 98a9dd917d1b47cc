"""What every benchmark prints with its figures: the machine (``lscpu``'s model name and the
CPU flags that decide oneDNN's int8/bf16 kernels), the thread settings and the versions."""
import os
import platform
import subprocess
from pathlib import Path

#: CPU flags that matter for Paddle Inference on the CPU (oneDNN kernels, bf16, int8)
FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
         "amx_bf16", "amx_int8", "avx_vnni")


def cpu():
    """``(cpu model, logical CPUs, relevant flags)`` from ``lscpu`` (``/proc/cpuinfo`` when it
    is missing)."""
    fields = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = {k.strip(): v.strip() for k, _, v in
                  (line.partition(":") for line in out.splitlines())}
    except (OSError, subprocess.CalledProcessError):
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                key, _, value = line.partition(":")
                fields.setdefault({"model name": "Model name", "flags": "Flags"}.get(
                    key.strip(), key.strip()), value.strip())
        except OSError:
            pass
    flags = set(fields.get("Flags", "").split())
    return (fields.get("Model name", "unknown"), os.cpu_count(),
            [f for f in FLAGS if f in flags])


def machine():
    """One line: CPU model, vCPUs, the relevant flags, threads and versions."""
    import paddle

    model, cpus, flags = cpu()
    return (f"{model}, {cpus} vCPUs, flags {' '.join(flags) or 'none'} (of "
            f"{' '.join(FLAGS)}); OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
            f"MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')}; paddle "
            f"{paddle.__version__}, Python {platform.python_version()}")
