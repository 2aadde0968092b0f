"""What machine a benchmark ran on, and an estimate of its fp32 peak."""
import os
import subprocess
import sys

INTERESTING_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")


def _cpuinfo():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    key, value = line.split(":", 1)
                    info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def measured_sgemm_gflops(size=1024, repeats=5):
    """Single-thread NumPy (OpenBLAS) SGEMM throughput, the best of a few runs, in a child process
    so the thread limit applies."""
    code = (
        "import numpy as np, time\n"
        "a = np.random.rand(%d, %d).astype(np.float32); b = a.copy(); a @ b\n"
        "best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(%d))\n"
        "print(2 * %d ** 3 / best / 1e9)\n" % (size, size, repeats, size)
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        return float(out.stdout.strip())
    except (ValueError, subprocess.TimeoutExpired):
        return None


def nchw88_runs(model_path):
    """(whether NCHW88 runs `model_path` here, what happened): it can deadlock on some CPUs (AMD
    AVX-512 without the Xbyak fix), so it is first run in export's child-process probe
    (lite/tuning.py), on a seeded random input, with the probe's timeout."""
    import tempfile

    import numpy as np

    from mgedeploy import contract
    from mgedeploy.lite import tuning

    info = contract.read(model_path)
    with tempfile.TemporaryDirectory() as tmp:
        sample = os.path.join(tmp, "sample.npy")
        np.save(sample, np.random.default_rng(0).uniform(-1, 1, info["input"]["shape"]).astype(np.float32))
        result, what = tuning.run_probe(["check", "nchw88", model_path, info["input"]["name"], sample,
                                         os.path.join(tmp, "out.npy"), ""], tuning.TIMEOUT_S["nchw88"])
    return result is not None, what


# AMD's (family, model) → core generation, for the CPUs these machines have had; others get none.
_AMD_CORES = {(23, 49): "Zen 2", (25, 1): "Zen 3", (25, 17): "Zen 4", (26, 2): "Zen 5"}


def cpu_name(info):
    """The model name with its family and model numbers (the model name alone, "AMD EPYC", is the
    same on every generation these machines have had) and, when known, the core generation."""
    family, model = info.get("cpu family", "?"), info.get("model", "?")
    name = "%s (family %s model %s" % (info.get("model name", "unknown"), family, model)
    if info.get("vendor_id") == "AuthenticAMD" and family.isdigit() and model.isdigit():
        core = _AMD_CORES.get((int(family), int(model)))
        name += ", " + core if core else ""
    return name + ")"


def describe():
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    mhz = float(info.get("cpu MHz", "0") or 0)
    vendor = info.get("vendor_id", "")
    # FP32 FLOP per cycle per core: two FMA pipes x (8 lanes at 256 bits) x 2 FLOP = 32. AMD Zen 4
    # runs AVX-512 as two 256-bit halves, so it stays 32; Intel cores with two 512-bit FMA units and
    # AMD Zen 5 (family 26, full-width AVX-512 datapath): 64.
    if "avx512f" in flags and (vendor == "GenuineIntel" or info.get("cpu family") == "26"):
        per_cycle, why = 64, "2 x 512-bit FMA"
    elif "fma" in flags and "avx512f" in flags:
        per_cycle, why = 32, "2 x 256-bit FMA (AVX-512 executes as 2 x 256 on AMD)"
    elif "fma" in flags:
        per_cycle, why = 32, "2 x 256-bit FMA (AVX2)"
    else:
        per_cycle, why = 8, "no FMA"
    sgemm = measured_sgemm_gflops()
    nominal = mhz / 1e3 * per_cycle
    return {
        "cpu": cpu_name(info),
        "vendor": vendor,
        "cores": os.cpu_count(),
        "mhz_reported": mhz,
        "flags": sorted(flags & set(INTERESTING_FLAGS)),
        "flop_per_cycle": per_cycle,
        "nominal_peak_gflops_per_core": round(nominal, 1),
        "sgemm_1thread_gflops": round(sgemm, 1) if sgemm else None,
        # The reported MHz is the base clock; turbo runs faster, so a measured SGEMM can exceed the
        # nominal figure. The estimate is the larger of the two.
        "peak_gflops_per_core": round(max(nominal, sgemm or 0), 1),
        "peak_estimate": "max(%.0f MHz x %d FLOP/cycle [%s], measured 1-thread SGEMM 1024^3)" % (mhz, per_cycle, why),
    }
