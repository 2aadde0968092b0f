"""Repository rule: a CPython 3.10 venv built from a pinned, hash-checked lock file.

megengine 1.13.0 ships only cp310 wheels, so the interpreter must be 3.10. The rule finds one on the
machine (it never downloads an interpreter) and installs the lock with `pip --require-hashes` into
a venv kept per user and keyed by the lock and the interpreter:
  ${XDG_CACHE_HOME:-~/.cache}/megdeploy/venvs/py310-<sha256 of both, 16 hex>
Why outside the Bazel output base: every Python action runs the venv's interpreter through the
`python3` wrapper below, whose text holds the venv's path. Inside the output base that path differs
per clone, so no clone could reuse another's cached actions (measured before: a warm clean clone
re-ran every Python action, 565 s). Keyed by the lock, the path is the same for every clone; the
venv is written once, under a `.complete` marker, and never changed after.
Wheels are kept in a per-user directory so that a new lock or `bazel clean --expunge` does not
download the ~1 GB of wheels again: $MEGDEPLOY_WHEEL_DIR, else ${XDG_CACHE_HOME:-~/.cache}/megdeploy/wheels.

The repository exposes:
  :python3             a wrapper that execs the venv's interpreter (the venv never enters runfiles)
  :py_toolchain        the toolchain to register for every py_binary / py_test
  :venv_info.txt       `site_packages=<absolute path>`, read by the @megenginelite rule
  :wheel_dir.txt       the downloaded-wheel directory's absolute path, for //py:wheel_install_test
                       (it installs the wheel into a fresh venv offline, from there)
"""

_PYTHON_ENV = "PYTHON3_10"
_WHEEL_DIR_ENV = "MEGDEPLOY_WHEEL_DIR"
_SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

def _find_python(rctx):
    """The real path of CPython 3.10, found by tools/find_python3_10.sh (the one search; .ci/run uses it too)."""
    script = rctx.path(Label("//tools:find_python3_10.sh"))
    result = rctx.execute(["bash", str(script)], timeout = 60)
    if result.return_code != 0:
        fail(result.stderr.strip())
    return result.stdout.strip()

def _cache_dir(rctx):
    env = rctx.os.environ
    return (env.get("XDG_CACHE_HOME") or (env.get("HOME", "/tmp") + "/.cache")) + "/megdeploy"

def _wheel_dir(rctx):
    env = rctx.os.environ
    if env.get(_WHEEL_DIR_ENV):
        return env[_WHEEL_DIR_ENV]
    return _cache_dir(rctx) + "/wheels"

def _venv_dir(rctx, python, lock):
    """The shared venv's directory: keyed by the lock's content and the interpreter."""
    result = rctx.execute(["sh", "-c", "{ cat \"$1\"; echo \"$2\"; } | sha256sum", "sh", str(lock), python])
    if result.return_code != 0:
        fail("sha256sum failed: " + result.stderr)
    return _cache_dir(rctx) + "/venvs/py310-" + result.stdout[:16]

def _pip(rctx, venv_python, args, what):
    # --isolated: the machine's pip.conf, PIP_* variables and constraint files must not change
    # what gets installed; the lock alone decides.
    cmd = [venv_python, "-m", "pip", "--isolated", "--disable-pip-version-check"]
    if rctx.path(_SYSTEM_CA_BUNDLE).exists:
        cmd += ["--cert", _SYSTEM_CA_BUNDLE]
    rctx.report_progress(what)
    return rctx.execute(cmd + args, timeout = 3600, quiet = True)

def _python_venv_impl(rctx):
    python = _find_python(rctx)
    lock = rctx.path(rctx.attr.lock)
    rctx.symlink(lock, "requirements.lock")
    venv = _venv_dir(rctx, python, lock)
    venv_python = venv + "/bin/python3"

    if not rctx.path(venv + "/.complete").exists:
        # A half-made venv (an interrupted build) is started again from nothing.
        rctx.execute(["rm", "-rf", venv])
        rctx.execute(["mkdir", "-p", venv])
        rctx.report_progress("Creating a Python 3.10 venv with " + python)
        result = rctx.execute([python, "-m", "venv", venv], timeout = 300)
        if result.return_code != 0:
            fail("`%s -m venv` failed: %s" % (python, result.stderr))

        wheels = _wheel_dir(rctx)
        install = ["install", "--no-index", "--find-links", wheels, "--require-hashes", "-r", str(lock)]
        rctx.execute(["mkdir", "-p", wheels])

        # Offline first: a warm wheel directory needs no network at all.
        result = _pip(rctx, venv_python, install, "Installing the locked Python packages from " + wheels)
        if result.return_code != 0:
            result = _pip(
                rctx,
                venv_python,
                ["download", "--require-hashes", "-d", wheels, "-r", str(lock)],
                "Downloading the locked Python packages into %s (megengine is ~940 MB, once)" % wheels,
            )
            if result.return_code != 0:
                fail("pip could not download the locked packages into %s:\n%s" % (wheels, result.stderr))
            result = _pip(rctx, venv_python, install, "Installing the locked Python packages")
            if result.return_code != 0:
                fail("pip could not install the locked packages:\n%s" % result.stderr)
        rctx.execute(["touch", venv + "/.complete"])

    result = rctx.execute([venv_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    if result.return_code != 0:
        fail("The venv's interpreter does not run: " + result.stderr)
    site_packages = result.stdout.strip()

    # PYTHONNOUSERSITE: ~/.local packages must not leak into a hermetic run. PYTHONDONTWRITEBYTECODE:
    # the shared venv stays as pip left it.
    rctx.file("python3", "#!/bin/sh\nPYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1 exec \"%s\" \"$@\"\n" % venv_python,
              executable = True)
    rctx.file("venv_info.txt", "site_packages=%s\nvenv=%s\n" % (site_packages, venv))
    rctx.file("wheel_dir.txt", _wheel_dir(rctx) + "\n")
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    rctx.template("BUILD.bazel", rctx.attr._build_template, {"%{venv_python}": venv_python})

python_venv = repository_rule(
    implementation = _python_venv_impl,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True),
        "_build_template": attr.label(default = "//third_party/python:venv.BUILD.tpl"),
    },
    environ = [_PYTHON_ENV, _WHEEL_DIR_ENV, "PYENV_ROOT", "XDG_CACHE_HOME"],
    local = False,
)
