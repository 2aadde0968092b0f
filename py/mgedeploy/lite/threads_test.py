"""Networks in several threads while the crash guard is armed and disarmed around every load and
forward, with one thread failing over and over (a damaged model Lite refuses, an image that does
not decode): every other thread's outputs must stay bit-identical to the single-thread result.
(megenginelite's ctypes calls release the GIL, so the networks really run at the same time.)"""
import os
import sys
import threading


import pytest  # noqa: E402

from mgedeploy import contract, preprocess  # noqa: E402
from mgedeploy.lite import crash_guard  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from tests import fixtures  # noqa: E402

THREADS = 4
RUNS_PER_THREAD = 50
FAILURES = 20
MODEL = fixtures.LITE0
PHOTOS = [fixtures.CAT, fixtures.COFFEE]


@pytest.fixture(scope="module", autouse=True)
def guard():
    crash_guard.enable(crash_guard.default_library_path(), "threads_test", 2)


def test_threads_bit_identical_beside_a_failing_thread(tmp_path):
    info = contract.read(MODEL)
    name = info["input"]["name"]
    inputs = [preprocess.load(p, info["preprocess"]) for p in PHOTOS]
    expected = [lite_runner.LiteRunner(MODEL, name).run(x) for x in inputs]
    damaged = tmp_path / "damaged.mge"
    damaged.write_bytes(os.urandom(100_000))  # Lite refuses it (no contract check on this path)
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not an image")
    mismatches, runs, errors = [0] * THREADS, [0] * THREADS, [None] * THREADS
    refused = []

    def work(t):
        try:
            runner = lite_runner.LiteRunner(MODEL, name)
            for i in range(RUNS_PER_THREAD):
                photo = (t + i) % len(inputs)
                out = runner.run(inputs[photo])
                runs[t] += 1
                if out.tobytes() != expected[photo].tobytes():
                    mismatches[t] += 1
        except Exception as e:  # reported below, with the thread number
            errors[t] = e

    def fail_repeatedly():
        for _ in range(FAILURES):
            for attempt in (lambda: lite_runner.LiteRunner(str(damaged), name),
                            lambda: preprocess.load(str(not_an_image), info["preprocess"])):
                try:
                    attempt()
                except (lite_runner.ModelError, preprocess.ImageError) as e:
                    refused.append(type(e).__name__)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    threads.append(threading.Thread(target=fail_repeatedly))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("runs %s, mismatches %s, errors %s, refusals %d" % (runs, mismatches, errors, len(refused)))
    assert errors == [None] * THREADS
    assert runs == [RUNS_PER_THREAD] * THREADS
    assert mismatches == [0] * THREADS
    assert sorted(set(refused)) == ["ImageError", "ModelError"] and len(refused) == 2 * FAILURES


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
