"""Progress for long loops: tqdm's bar on a terminal, nothing in logs and pipes."""
import sys


def bar(total, description, min_seconds=3.0):
    """A tqdm bar on stderr that appears once the loop has lasted `min_seconds`, only on a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, file=sys.stderr, delay=min_seconds, leave=False,
                disable=not sys.stderr.isatty())
