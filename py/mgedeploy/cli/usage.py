"""One-line usage errors with exit status 2, in every program (as the C++ programs do, cc/cli/program.h),
instead of absl's usage dump."""
import sys

USAGE_EXIT = 2


class UsageError(Exception):
    """Bad arguments; the message is shown on one line."""


def report_usage_error(program, error):
    print("%s: %s (see --help)" % (program, error), file=sys.stderr)
    return USAGE_EXIT


def positive(name, value):
    if value < 1:
        raise UsageError("%s must be a positive integer, got %d" % (name, value))
    return value


def flags_parser(program):
    """For app.run(main, flags_parser=...): a malformed flag value (`--topk abc`) becomes one line
    and exit status 2, like every other usage error, instead of absl's two-line FATAL message."""
    from absl import flags

    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            sys.exit(report_usage_error(program, e))

    return parse
