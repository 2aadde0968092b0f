"""The one Python rule from a model contract's "lite" section to the options a network loads with.

Mirrored in C++ by cc/lite/options.{h,cc} (same names: LiteOptions, options_for / OptionsFor,
CHOICES, cpu_fingerprint / ThisCpu); //tests:contract_conformance_test holds both to one table.

The contract's "lite" section is what export measured fastest and exact on the machine it ran on
(tuning.py): weight preprocessing, a recorded kernel sequence, and either the x86 NCHW88 layout or
fast-run kernels saved in `<model>.fastrun`. Those are trusted only on the same kind of CPU:
NCHW88 can deadlock on some CPUs and fast-run choices are per CPU, so elsewhere only the safe,
CPU-independent part is used.
"""
import contextlib
import os
import tempfile

from mgedeploy.contract import file_digest

CHOICES = ("best", "default")  # --lite_options: the contract's settings, or Lite's defaults
FAST_RUN_CACHE_SUFFIX = ".fastrun"

# The candidates export's settings choice times (tuning.py), by name.
CANDIDATES = ("nchw", "nchw88")
_BASE = {"weight_preprocess": True, "record_level": 1}


class SettingsError(ValueError):
    """The recorded settings cannot be used as they are (a damaged fast-run cache); names the file."""


class LiteOptions:
    """How a network is configured before its model loads (the fields Lite's config takes)."""

    def __init__(self, weight_preprocess=False, record_level=0, nchw88=False, fast_run=False,
                 fast_run_cache=None, nchw44=False, layout_transform=False, profile_json=None):
        self.weight_preprocess = bool(weight_preprocess)
        self.record_level = int(record_level)
        self.nchw88 = bool(nchw88)
        self.fast_run_cache = fast_run_cache  # read if it exists; LiteRunner.save_fast_run_cache writes it
        self.fast_run = bool(fast_run) or bool(fast_run_cache)
        # Benchmark-only knobs (never in a contract):
        self.nchw44 = bool(nchw44)
        self.layout_transform = bool(layout_transform)  # global layout transform, searched at load
        self.profile_json = profile_json  # write Lite's per-operator profile here

    @property
    def const_shape(self):
        """A recorded kernel sequence replays fixed shapes: Lite needs const_shape for it."""
        return self.record_level > 0

    @classmethod
    def from_settings(cls, settings, fast_run_cache=None, safe_only=False):
        """From a contract's "lite" section or a candidate; safe_only drops what is tied to the CPU
        the settings were chosen on (NCHW88, fast-run kernels)."""
        return cls(settings.get("weight_preprocess", False), settings.get("record_level", 0),
                   nchw88=settings.get("nchw88", False) and not safe_only,
                   fast_run_cache=None if safe_only else fast_run_cache)

    def describe(self):
        parts = ["NCHW88" if self.nchw88 else "NCHW44" if self.nchw44 else "NCHW"]
        if self.layout_transform:
            parts.append("layout transform")
        if self.fast_run:
            parts.append("fast-run")
        if self.weight_preprocess:
            parts.append("weight preprocess")
        if self.record_level:
            parts.append("record level %d" % self.record_level)
        return " + ".join(parts)

    def __eq__(self, other):
        return isinstance(other, LiteOptions) and vars(self) == vars(other)

    def __repr__(self):
        return "LiteOptions(%s)" % ", ".join("%s=%r" % kv for kv in sorted(vars(self).items()))


def candidate_settings(name, cache_name):
    """A tuning candidate as a contract "lite" section (without the cpu and medians)."""
    if name == "nchw88":
        return dict(_BASE, nchw88=True)
    return dict(_BASE, nchw88=False, fast_run_cache=cache_name)


def cpu_fingerprint():
    """The first CPU's model name and flags from /proc/cpuinfo (what kernels a CPU can run)."""
    found = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "flags") and key not in found:
                    found[key] = value.strip()
    except OSError:
        pass
    return {"model_name": found.get("model name", ""), "flags": found.get("flags", "")}


def options_for(info, model_path, choice="best", cpu=None, cache_file=None):
    """(LiteOptions, note) for `choice` ("best" or "default") and a validated contract `info`.
    cache_file: where a packed model's embedded fast-run cache was put (embedded_cache_file), read
    instead of the file beside the model.

    note is one line for the user when the best settings cannot be used as recorded (another CPU,
    a missing fast-run cache), else None. Raises SettingsError for a fast-run cache whose digest is
    not the recorded one: Lite itself crashes on a damaged cache (measured), so it never gets one.
    """
    if choice not in CHOICES:
        raise ValueError("lite options must be one of %s, got %r" % ("|".join(CHOICES), choice))
    lite = info.get("lite") if choice == "best" else None
    if not lite:
        return LiteOptions(), None
    contract_path = model_path + ".json"
    if lite.get("cpu") != (cpu if cpu is not None else cpu_fingerprint()):
        return (LiteOptions.from_settings(lite, safe_only=True),
                "%s: Lite settings were chosen on another CPU: using the safe part (re-export here for the "
                "fastest)" % contract_path)
    cache, note = lite.get("fast_run_cache"), None
    if cache:
        cache = cache_file or os.path.join(os.path.dirname(model_path), cache)
        if not os.path.isfile(cache):
            note = ("%s: fast-run cache missing (export writes it beside the model): kernels are chosen by "
                    "heuristics, slower" % cache)
            cache = None
        elif file_digest(cache) != lite.get("fast_run_cache_sha256"):
            raise SettingsError("%s: fast-run cache does not match its contract %s: re-export, or copy it with "
                                "the model" % (cache, contract_path))
    return LiteOptions.from_settings(lite, fast_run_cache=cache), note


@contextlib.contextmanager
def embedded_cache_file(data):
    """A private temporary file holding `data` (a packed model's fast-run cache) while Lite reads
    it (LiteGlobal.set_persistent_cache takes only a path); None when there is none. It holds kernel
    choices, not the graph."""
    if data is None:
        yield None
        return
    with tempfile.NamedTemporaryFile(prefix="megdeploy-", suffix=FAST_RUN_CACHE_SUFFIX) as f:
        f.write(data)
        f.flush()
        yield f.name
