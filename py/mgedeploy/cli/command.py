"""`mgedeploy SUBCOMMAND ...` (and `python -m mgedeploy`): the Bazel programs under one command.

Each subcommand runs its program's module as `__main__` (runpy), exactly as `bazel run` does: the
same flags, output and exit codes, from the same `main`. Only the subcommand's own module is
imported, so `mgedeploy classify` never loads the web stack.
"""
import argparse
import runpy
import sys

from mgedeploy import extras

# subcommand -> (program module, the extra it needs or None, what it does)
SUBCOMMANDS = {
    "export": ("mgedeploy.programs.export", None, "export a model to .mge with its contract (//py:export)"),
    "classify": ("mgedeploy.programs.inference", None, "classify images with an exported model (//py:inference)"),
    "benchmark": ("mgedeploy.programs.benchmark", None, "time a model's forward pass (//py:benchmark)"),
    "serve": ("mgedeploy.programs.serve", "serve", "the HTTP model server (//py:serve)"),
    "serve-ray": ("mgedeploy.programs.serve_ray", "ray", "the model server on Ray Serve (//py:serve_ray)"),
    "version": (None, None, "print the package's and Lite's versions"),
}
COMMAND = "mgedeploy"


def parser():
    described = "\n".join("  %-10s %s" % (name, what) for name, (_, _, what) in SUBCOMMANDS.items())
    result = argparse.ArgumentParser(
        prog=COMMAND, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export MegEngine classifiers to .mge and run them with MegEngine Lite.",
        epilog="subcommands:\n%s\n\n`%s SUBCOMMAND --help` lists a subcommand's flags." % (described, COMMAND))
    result.add_argument("--version", action="store_true", help="the same as `%s version`" % COMMAND)
    result.add_argument("subcommand", nargs="?", choices=list(SUBCOMMANDS), metavar="SUBCOMMAND")
    result.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parsed = parser().parse_args(argv[:1])  # the subcommand's own flags are its program's
    if parsed.version or parsed.subcommand == "version":
        from mgedeploy.cli import program

        print(program.version_text(COMMAND))
        return 0
    if parsed.subcommand is None:
        parser().print_help(sys.stderr)
        return 2
    module, extra, _ = SUBCOMMANDS[parsed.subcommand]
    reason = extra and extras.problem(extra)
    if reason:
        print("%s %s: %s" % (COMMAND, parsed.subcommand, reason), file=sys.stderr)
        return 1
    sys.argv = ["%s %s" % (COMMAND, parsed.subcommand)] + argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)  # its program exits with its status
    return 0
