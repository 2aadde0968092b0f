"""`python -m mgedeploy ...`: the same as the `mgedeploy` command (cli/command.py)."""
import sys

from mgedeploy.cli import command

if __name__ == "__main__":
    sys.exit(command.main())
