"""A model's worker pool: a bounded queue, and threads that each own a Lite network.

Why threads: megenginelite calls Lite through ctypes, which releases the GIL for the whole forward
pass (and OpenCV releases it while decoding and resizing), so two threads with one network each
use both cores; ../docs/serving.md has the measurement (2 networks x 1 thread: 1.7x the images/s of
1 network x 2 threads on 2 cores). The networks share one copy of the weights (Lite's
share_weights_with).

A job is one request: encoded image bytes or a float32 tensor of n inputs. A worker takes the job
at the head of the queue and whatever else is already queued, up to max_batch inputs (waiting up
to max_batch_delay for more only when that is set), and runs them `model batch` per forward pass.
Admission control: submit() refuses at once when max_queue jobs wait (QueueFull -> 429); a job
whose deadline passed while it waited is answered DeadlineExceeded without running.
Faults are contained to the request that caused them: an image the decoder or the processing
budget refuses fails its job (ImageError -> 400, ImageTooLarge -> 413) and nothing else; any other
exception while preprocessing fails that job (WorkerFailure -> 500); a failure inside Lite fails
that batch's jobs and the worker rebuilds its network. Anything that escapes even that (a
BaseException) answers the jobs the worker held and the worker is replaced by a new thread;
live_workers() is what readiness reports.
"""
import collections
import concurrent.futures
import logging
import threading
import time

import cv2
import numpy as np

from mgedeploy import preprocess
from mgedeploy.serving import backends


class QueueFull(Exception):
    """The queue is at max_queue: try again later."""

    def __init__(self, depth, retry_after_s):
        super().__init__("the server is busy: %d requests are queued; try again in %d s" % (depth, retry_after_s))
        self.retry_after_s = retry_after_s


class DeadlineExceeded(Exception):
    """The job waited in the queue past its deadline and was not run."""


class WorkerFailure(Exception):
    """Lite failed while running the job's batch; the worker was rebuilt."""


class ShuttingDown(Exception):
    """The pool no longer accepts jobs."""


class TooManyItems(Exception):
    """A request of more items than the queue can ever hold: retrying cannot help (413)."""


LOG = logging.getLogger("megdeploy.serve")


def one_line(error):
    """`Type: message` on one line, at most 300 characters (OpenCV's errors span several lines)."""
    message = preprocess.last_line(error) if str(error).strip() else ""
    return ("%s: %s" % (type(error).__name__, message))[:300]


class Job:
    """One request. `image` (encoded bytes) or `tensor` (float32, (n, C, H, W)); `future` gets the
    list of n output vectors, or one of the exceptions above / ImageError."""

    def __init__(self, deadline, image=None, tensor=None, name="the body"):
        self.name = name  # what an image error calls it
        self.image = image
        self.tensor = tensor
        self.count = 1 if tensor is None else tensor.shape[0]
        self.enqueued = time.monotonic()
        self.deadline = deadline
        self.future = concurrent.futures.Future()
        self.timings = {}  # seconds: queue, preprocess, inference


class ModelWorkers:
    """`workers` threads for one model. `observe(kind, value)` receives the metrics (see
    metrics.py): "queue"/"preprocess"/"inference" seconds, "batch" sizes, "restart", "expired".
    model_key: the key of an encrypted model (held for the network a failing worker rebuilds)."""

    def __init__(self, model_path, workers=2, threads=1, max_batch=1, max_batch_delay_s=0.0, max_queue=64,
                 lite_options="best", max_pixels=preprocess.DEFAULT_MAX_PIXELS, observe=None, backend="lite",
                 model_key=None):
        self.model_path = model_path
        self.model_key = model_key
        self.backend = backend
        self.threads = threads
        self.max_batch = max_batch
        self.max_batch_delay_s = max_batch_delay_s
        self.max_queue = max_queue
        self.lite_options = lite_options
        self.max_pixels = max_pixels
        self.observe = observe or (lambda kind, value: None)
        # The first network loads the model (and raises its ContractError/ModelError here, at start-up).
        self.prototype = self._new_classifier()
        self.contract = self.prototype.contract
        # A backend that runs only on this thread (eager MegEngine) has no worker threads: submit()
        # runs each job inline, on the caller's thread (the server's event loop).
        self.inline = backend in backends.MAIN_THREAD_ONLY
        self._loaded = threading.Semaphore(0)
        self._started = threading.Semaphore(0)
        self._start_error = None
        self.instances = {}  # worker index -> its classifier (tests reach in here)
        self._queue = collections.deque()
        self._ready = threading.Lock()
        self._idle = []  # conditions of idle workers, the most recently idle last
        self._accepting = True
        self._service_s = 0.05  # running mean of one input's service time, for Retry-After
        self._in_flight = {}  # worker index -> the jobs it is running (answered if it crashes)
        self._replacing = set()  # worker indices whose replacement thread is starting
        self.down = {}  # worker index -> why its replacement could not load (it stays down)
        self._threads = [threading.Thread(target=self._work, args=(i,), name="worker-%d" % i, daemon=True)
                         for i in range(0 if self.inline else workers)]
        if self.inline:
            self.instances[0] = self.prototype
        for thread in self._threads:
            thread.start()
        for _ in self._threads:
            self._started.acquire()  # every network loaded: the pool is ready
        if self._start_error is not None:
            self.close()
            raise self._start_error

    # -- the front's side ------------------------------------------------------------------------

    def submit(self, job):
        """Queues `job` or raises QueueFull / ShuttingDown at once."""
        return self.submit_all([job])[0]

    def submit_all(self, jobs):
        """Queues every job or none (a request's items are admitted together): raises QueueFull,
        TooManyItems (more than max_queue: never admissible) or ShuttingDown at once."""
        if self.inline:
            if not self._accepting:
                raise ShuttingDown("the server is shutting down")
            for job in jobs:
                job.future.set_running_or_notify_cancel()
                job.timings["queue"] = 0.0
                self.instances[0] = self._run(self.instances[0], [job])
            return [job.future for job in jobs]
        if len(jobs) > self.max_queue:
            raise TooManyItems("%d items in one request; this server queues at most %d per model (--max_queue)"
                               % (len(jobs), self.max_queue))
        self._supervise()
        with self._ready:
            if not self._accepting:
                raise ShuttingDown("the server is shutting down")
            if len(self._queue) + len(jobs) > self.max_queue:
                raise QueueFull(len(self._queue), self.retry_after_s())
            self._queue.extend(jobs)
            for _ in jobs:
                if not self._idle:
                    break
                self._idle.pop().notify()  # the most recently idle worker: its caches are warm
        return [job.future for job in jobs]

    def refuse_if_full(self):
        """Raises QueueFull now, before the request's body is even read (a 429 must cost little:
        under 2x overload most answers are 429s)."""
        if not self.inline and len(self._queue) >= self.max_queue:
            raise QueueFull(len(self._queue), self.retry_after_s())

    def depth(self):
        return len(self._queue)

    def live_workers(self):
        """Workers alive and taking requests now, each warmed up (the inline backend counts as
        one): readiness."""
        if self.inline:
            return 1 if self._accepting else 0
        self._supervise()
        return sum(1 for index, thread in enumerate(self._threads) if thread.is_alive() and index in self.instances)

    def _supervise(self):
        """Replaces a worker thread that died without saying so (its own handler failed too)."""
        if not self._accepting:
            return
        for index, thread in enumerate(self._threads):
            if not thread.is_alive() and index not in self._replacing and index not in self.down:
                LOG.warning("worker %d of %s died unannounced; replacing it", index, self.model_path)
                self._replace(index)

    def retry_after_s(self):
        """Seconds until the queue has room again, at the measured service rate (at least 1)."""
        per_worker = len(self._queue) * self._service_s / max(1, len(self._threads))
        return max(1, int(per_worker + 0.999))

    def close(self, timeout_s=30.0):
        """Stops accepting, lets the workers finish what is queued, joins them."""
        with self._ready:
            self._accepting = False
            while self._idle:
                self._idle.pop().notify()
        for thread in self._threads:
            thread.join(timeout_s)

    # -- the workers' side -----------------------------------------------------------------------

    def _new_classifier(self, share_with=None):
        return backends.make(self.backend, self.model_path, threads=self.threads, lite_options=self.lite_options,
                             max_pixels=self.max_pixels, share_with=share_with, model_key=self.model_key)

    def _take(self, wakeup):
        """Blocks for the next jobs (up to max_batch inputs); [] when closed and drained. `wakeup`
        is this worker's condition: idle workers wait on a stack and the newest is woken first, so
        at low load one network serves every request (measured: a Lite0 forward takes 14.8 ms
        back to back, 18.9 ms after 100 ms idle; round-robin over 2 workers doubles every idle gap)."""
        with self._ready:
            while not self._queue and self._accepting:
                self._wait(wakeup, None)
            if not self._queue:
                return []
            jobs = [self._queue.popleft()]
            inputs = jobs[0].count
            end = time.monotonic() + self.max_batch_delay_s
            while inputs < self.max_batch:
                if not self._queue:
                    left = end - time.monotonic()
                    if left <= 0 or not self._accepting:
                        break
                    self._wait(wakeup, left)
                    continue
                if inputs + self._queue[0].count > self.max_batch:
                    break
                job = self._queue.popleft()
                jobs.append(job)
                inputs += job.count
            return jobs

    def _wait(self, wakeup, timeout):
        self._idle.append(wakeup)
        wakeup.wait(timeout)
        if wakeup in self._idle:  # timed out, not popped by submit/close
            self._idle.remove(wakeup)

    def _work(self, index):
        if index == 0:
            classifier = self.prototype
            for _ in range(len(self._threads) - 1):
                self._loaded.acquire()  # every other worker has shared its weights
            self.prototype = None
        else:
            try:
                classifier = self._new_classifier(share_with=self.prototype)
            except Exception as e:  # reported by the constructor, which waits for every worker
                self._start_error = e
                self._loaded.release()
                self._started.release()
                return
            self._loaded.release()
        try:
            self._warm_up(classifier)
        except Exception as e:  # a model that loads but cannot run: a start-up error too
            self._start_error = e
            self._started.release()
            return
        self.instances[index] = classifier  # live (and ready) from the moment the pool is
        self._started.release()
        self._serve_safely(index, classifier)

    def _warm_up(self, classifier):
        """One forward pass on this worker's thread before it takes requests: the first run's
        costs (the recorded kernel sequence, fast-run lookups) are paid here, not by a client, and
        a worker counts as live (readiness) only after it."""
        shape = self.contract["input"]["shape"]
        classifier.run_inputs([np.zeros([1] + list(shape[1:]), np.float32)])

    def _serve_safely(self, index, classifier):
        """Runs the worker loop; whatever escapes it answers the held jobs and starts a replacement."""
        try:
            self._serve(index, classifier)
        except BaseException as e:  # noqa: B036 - a worker must never vanish with requests in hand
            self.instances.pop(index, None)
            del classifier  # freed on its own thread (record level 1 keeps per-thread state)
            failure = WorkerFailure("the worker failed (%s) and was replaced" % one_line(e))
            for job in self._in_flight.pop(index, []):
                if not job.future.done():
                    job.future.set_exception(failure)
            LOG.error("worker %d of %s: %s", index, self.model_path, failure)
            self.observe("restart", 1)
            if self._accepting:
                self._replace(index)

    def _replace(self, index):
        """A new thread (and network) for worker `index`; it loads off the caller's thread."""
        self._replacing.add(index)

        def start():
            try:
                classifier = self._new_classifier(share_with=None)
                self._warm_up(classifier)
            except Exception as e:  # the model cannot load or run any more: this worker stays down
                self.down[index] = one_line(e)
                LOG.error("worker %d of %s could not be replaced: %s", index, self.model_path, self.down[index])
                return
            finally:
                self._replacing.discard(index)
            self._serve_safely(index, classifier)

        thread = threading.Thread(target=start, name="worker-%d" % index, daemon=True)
        self._threads[index] = thread
        thread.start()

    def _serve(self, index, classifier):
        # A network with a recorded kernel sequence (record level 1) is run and freed by one thread:
        # MegEngine keeps the recorder in a thread-local slot (a network used from a second thread
        # aborted the process at exit in one of our runs).
        self.instances[index] = classifier
        wakeup = threading.Condition(self._ready)
        while True:
            jobs = self._take(wakeup)
            if not jobs:
                del self.instances[index]
                return
            now = time.monotonic()
            live = []
            for job in jobs:
                if not job.future.set_running_or_notify_cancel():
                    continue  # the front gave up on it (deadline) and has answered already
                job.timings["queue"] = now - job.enqueued
                self.observe("queue", job.timings["queue"])
                if now > job.deadline:
                    self.observe("expired", 1)
                    job.future.set_exception(DeadlineExceeded("the request waited %.0f ms in the queue, past its "
                                                              "deadline" % (1000 * job.timings["queue"])))
                else:
                    live.append(job)
            if live:
                self._in_flight[index] = live
                classifier = self._run(classifier, live)
                self._in_flight.pop(index, None)
                self.instances[index] = classifier

    def _preprocess(self, classifier, job):
        """The job's inputs; raises what the job is to be answered with."""
        if job.image is None:
            return [job.tensor[i:i + 1] for i in range(job.count)]
        try:
            image = preprocess.decode_bgr(job.image, job.name, self.max_pixels, classifier.contract["preprocess"])
            return [classifier.preprocess(image)]
        except preprocess.ImageError:
            raise
        except MemoryError:
            raise preprocess.ImageTooLarge("%s: not enough memory to preprocess this image" % job.name) from None
        except cv2.error as e:  # OpenCV refused the image (its limits, a damaged stream)
            raise preprocess.ImageError("%s: OpenCV cannot process this image (%s)" % (job.name, one_line(e))) from None
        except Exception as e:  # a bug of ours: this request fails, the worker goes on
            raise WorkerFailure("preprocessing failed: %s" % one_line(e)) from None

    def _run(self, classifier, jobs):
        """Preprocesses and runs `jobs`; returns the classifier to go on with (a new one after a failure)."""
        started = time.monotonic()
        ready, inputs = [], []
        for job in jobs:
            try:
                inputs += self._preprocess(classifier, job)
                ready.append(job)
            except (preprocess.ImageError, WorkerFailure) as e:
                job.future.set_exception(e)
        preprocessed = time.monotonic()
        if not ready:
            return classifier
        try:
            outputs = classifier.run_inputs(inputs)
        except Exception as e:  # Lite failed (ModelError) or worse: contain it to this batch
            for job in ready:
                job.future.set_exception(WorkerFailure("the model failed on this request (the worker's network "
                                                       "was rebuilt): %s" % one_line(e)))
            self.observe("restart", 1)
            rebuilt = self._new_classifier(share_with=None)
            self._warm_up(rebuilt)
            return rebuilt
        done = time.monotonic()
        self.observe("batch", len(inputs))
        per_input = (done - preprocessed) / len(inputs)
        self._service_s = 0.8 * self._service_s + 0.2 * (done - started) / len(inputs)
        at = 0
        for job in ready:
            job.timings["preprocess"] = (preprocessed - started) / len(ready)
            job.timings["inference"] = per_input * job.count
            self.observe("preprocess", job.timings["preprocess"])
            self.observe("inference", job.timings["inference"])
            job.future.set_result(outputs[at:at + job.count])
            at += job.count
        return classifier
