"""What every program does around its `main`: quiet native chatter, the crash guard, one-line
usage errors (exit 2), --version. Programs only: the library never calls this.

    from mgedeploy.cli import program
    program.prepare(__name__)        # first, before megengine loads (its CUDA probing lines)
    ...
    if __name__ == "__main__":
        program.run(main, "inference")
"""
import sys

from mgedeploy.cli import quiet, usage

VERSION_FLAG = "--version"


def prepare(module_name, megengine=True):
    """Run as a program: route MegEngine's native fd-2 chatter through the filter (quiet.py) and
    arm the crash guard for Lite calls. megengine=False: the program loads megenginelite only when
    it needs it (via lite/runner.py), so its usage errors come at once. Imported as a module: nothing."""
    if module_name != "__main__":
        return
    if megengine:
        quiet.import_megengine()
    else:
        quiet.install_for_program()
    from mgedeploy.lite import crash_guard

    library = crash_guard.default_library_path()
    if library:  # absent only in a source checkout that Bazel has not built
        crash_guard.enable(library, program_name(), quiet.real_stderr_fd())


def program_name():
    import os

    return os.path.splitext(os.path.basename(sys.argv[0]))[0] or "python"


def version_text(program):
    """`PROGRAM (megdeploy X.Y.Z) Lite A.B.C`, the same line as the C++ programs print."""
    import megenginelite

    import mgedeploy

    return "%s (megdeploy %s) Lite %s" % (program, mgedeploy.__version__, megenginelite.__version__)


def run(main, program):
    """absl's app.run with our conventions: UsageError -> one line, exit 2; --version."""
    from absl import app

    if VERSION_FLAG in sys.argv[1:]:
        print(version_text(program))
        sys.exit(0)

    def wrapped(argv):
        try:
            return main(argv)
        except usage.UsageError as e:
            quiet.drop_native_output()
            return usage.report_usage_error(program, e)

    app.run(wrapped, flags_parser=usage.flags_parser(program))


def fail(program, error):
    """An expected failure: one line naming the file and the problem; returns exit status 1."""
    print("%s: %s" % (program, error), file=sys.stderr)
    quiet.drop_native_output()
    return 1
