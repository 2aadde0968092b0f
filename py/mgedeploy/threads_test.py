"""Four Python threads, each owning a megenginelite network on the same model, 50 runs each over
the test photos: every output must be bit-identical to the single-thread result for that photo.
(megenginelite's ctypes calls release the GIL, so the networks really run at the same time.)"""
import os
import sys
import threading

from mgedeploy import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mgedeploy import contract, lite_runner, paths, preprocess  # noqa: E402

THREADS = 4
RUNS_PER_THREAD = 50
MODEL = os.path.join(paths.REPO_ROOT, "testdata", "efficientnet_lite0.mge")
PHOTOS = [os.path.join(paths.REPO_ROOT, "testdata", p) for p in ("cat.jpg", "coffee.jpg")]


def test_threads_bit_identical():
    info = contract.read(MODEL)
    name = info["input"]["name"]
    inputs = [preprocess.load(p, info["preprocess"]) for p in PHOTOS]
    reference = lite_runner.LiteClassifier(MODEL, name)
    expected = [reference.run(x) for x in inputs]
    mismatches, runs, errors = [0] * THREADS, [0] * THREADS, [None] * THREADS

    def work(t):
        try:
            classifier = lite_runner.LiteClassifier(MODEL, name)
            for i in range(RUNS_PER_THREAD):
                photo = (t + i) % len(inputs)
                out = classifier.run(inputs[photo])
                runs[t] += 1
                if out.tobytes() != expected[photo].tobytes():
                    mismatches[t] += 1
        except Exception as e:  # reported below, with the thread number
            errors[t] = e

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("runs %s, mismatches %s, errors %s" % (runs, mismatches, errors))
    assert errors == [None] * THREADS
    assert runs == [RUNS_PER_THREAD] * THREADS
    assert mismatches == [0] * THREADS


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
