"""The models a server serves, by name and version: each `--model FILE` (version 1) and every model
of a model repository in Triton's layout (`--model_repository DIR`):

    DIR/<name>/<version>/model.mge           <version>: a positive integer
    DIR/<name>/<version>/model.mge.json      its contract (which holds model.mge's size and SHA-256)
    DIR/<name>/<version>/model.mge.fastrun   optional, as export writes it
    (or model.mge alone, packed by export --pack: the contract and cache inside)

The version policy (`latest:N`, `all`) picks the versions that serve; a request without a version
goes to the highest one serving. A rescan (the poller, or POST /v2/repository/models/<n>/load)
loads a new or changed version and warms it (ModelWorkers' constructor: every worker has run a
forward pass) while the old one serves, then switches new requests to it under a lock. A version
that stops serving is held open by the requests that leased it and closes when the last one is
answered, so a reload answers no request with an error. A version that fails to load (a half-copied
file fails its contract's size/SHA-256 check) stays in the index with its one-line reason, and
what served before goes on serving. The poller loads only files that were the same at the previous
scan, so a copy in progress is not even tried.
"""
import contextlib
import errno
import logging
import os
import re
import stat
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Set, Tuple

from mgedeploy import contract as contract_lib, packed_model
from mgedeploy.lite import options as lite_options
from mgedeploy.serving.uploads import HttpError

LOG = logging.getLogger("megdeploy.serve")
MODEL_FILE = "model.mge"
READY, LOADING, UNAVAILABLE, UNLOADING = "READY", "LOADING", "UNAVAILABLE", "UNLOADING"
# A model directory's name is a URL path segment; a version directory's, a positive integer.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
_VERSION = re.compile(r"[1-9][0-9]{0,17}\Z")
# Entries read per directory: a repository is a handful of models, not a file system to walk.
MAX_ENTRIES = 1000


class RepositoryError(Exception):
    """The repository cannot be served (not a directory, nothing in it loads); one line."""


class VersionPolicy(NamedTuple):
    latest: Optional[int]  # serve the highest N versions that load; None: all of them

    def __str__(self):
        return "all" if self.latest is None else "latest:%d" % self.latest


def parse_policy(text):
    """`latest:N` (N >= 1) or `all`, as Triton's version_policy; ValueError otherwise."""
    if text == "all":
        return VersionPolicy(None)
    head, _, count = text.partition(":")
    if head == "latest" and count.isdigit() and int(count) >= 1:
        return VersionPolicy(int(count))
    raise ValueError("expected latest:N (N >= 1) or all, got %r" % text)


class Found(NamedTuple):
    """One version as the directory holds it: its model file and the files' identity, or why it
    cannot be loaded at all."""
    path: Optional[str]
    signature: tuple
    problem: Optional[str] = None


def signature(model_path):
    """(size, mtime, inode) of the model, its contract and its fast-run cache: what a copy changes."""
    parts = []
    for path in (model_path, model_path + contract_lib.SUFFIX, model_path + lite_options.FAST_RUN_CACHE_SUFFIX):
        try:
            info = os.stat(path)
            parts.append((info.st_size, info.st_mtime_ns, info.st_ino))
        except OSError:
            parts.append(None)
    return tuple(parts)


def _stat_problem(path):
    """None for a directory; else why `path` is not one (a symlink loop among them)."""
    try:
        info = os.stat(path)
    except OSError as e:
        return "symbolic link loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
    return None if stat.S_ISDIR(info.st_mode) else "not a directory"


def _entries(directory):
    """A directory's entry names, sorted; RepositoryError if it cannot be listed or is too big."""
    try:
        with os.scandir(directory) as it:
            names = []
            for entry in it:
                names.append(entry.name)
                if len(names) > MAX_ENTRIES:
                    raise RepositoryError("%s: more than %d entries" % (directory, MAX_ENTRIES))
    except OSError as e:
        raise RepositoryError("%s: cannot list: %s" % (directory, e.strerror or e)) from None
    return sorted(name for name in names if not name.startswith("."))


def scan_model(directory):
    """A model directory -> {version directory name: Found}. Version directories must be positive
    integers and hold model.mge with its contract; what does not is Found with its problem."""
    found = {}
    for name in _entries(directory):
        path = os.path.join(directory, name)
        if not os.path.isdir(path) and not os.path.islink(path):
            continue  # a file beside the versions (a README, Triton's config.pbtxt): not ours
        model = os.path.join(path, MODEL_FILE)
        problem = _stat_problem(path)
        if problem is None and not _VERSION.match(name):
            problem = "version directory %r is not a positive integer" % name
        elif problem is None and not os.path.lexists(model):
            problem = "no %s in it" % MODEL_FILE
        elif problem is None and not os.path.lexists(model + contract_lib.SUFFIX) and not _is_packed(model):
            problem = "%s has no contract (%s%s) beside it" % (MODEL_FILE, MODEL_FILE, contract_lib.SUFFIX)
        found[name] = Found(None, (), "%s: %s" % (path, problem)) if problem else Found(model, signature(model))
    if not found:
        found[""] = Found(None, (), "%s: no version directories (expected %s/<version>/%s)"
                          % (directory, directory, MODEL_FILE))
    return found


def _is_packed(model):
    """A packed model (export --pack) carries its contract inside: no sidecar needed."""
    if not os.path.isfile(model):
        return False
    try:
        with open(model, "rb") as f:
            return packed_model.is_packed(f.read(len(packed_model.TAG)))
    except OSError:
        return False


class Version:
    """One version of a model: its state, its pool while it has one, and the requests holding it."""

    def __init__(self, name, key, path, sig):
        self.name, self.key, self.path, self.signature = name, key, path, sig
        self.state, self.reason = LOADING, ""
        self.pool = None
        self.error = None  # the exception it failed to load with
        self.load_s = 0.0  # seconds to load and warm up
        self.users = 0  # requests leasing it
        self.retired = False  # takes no new request
        self.closing = False
        self.closed = threading.Event()

    @property
    def number(self):
        return int(self.key) if self.key.isdigit() else 0


class Models:
    """Every served version, the index, load/unload, leases and the poller.

    make_pool(name, version, path) -> a warmed-up ModelWorkers (or raises). on_change(name,
    version, event, pool) hears "loaded", "failed", "unloaded" (metrics)."""

    def __init__(self, make_pool: Callable, files: Optional[Dict[str, str]] = None, repository: Optional[str] = None,
                 policy: VersionPolicy = VersionPolicy(1), on_change: Optional[Callable] = None):
        self._make_pool = make_pool
        self._files = dict(files or {})
        self._repository = repository
        self._policy = policy
        self._on_change = on_change or (lambda name, version, event, pool: None)
        self._lock = threading.Lock()  # the tables below, and every Version's state
        self._scanning = threading.Lock()  # one rescan (and its loads) at a time
        self._versions: Dict[str, Dict[str, Version]] = {}  # name -> {version key: Version}: the index
        self._serving: Dict[str, List[Version]] = {}  # name -> [Version], highest first: where requests go
        self._unloaded: Set[str] = set()  # names unloaded by request: the poller leaves them alone
        self._seen: Dict[Tuple[str, str], tuple] = {}  # (name, key) -> the files' signature at the previous scan
        self._failed: Dict[Tuple[str, str], Tuple[tuple, str]] = {}  # (name, key) -> (signature, reason) of
        # the last copy that did not load
        self._stop = threading.Event()
        self._poller: Optional[threading.Thread] = None
        self._starting = False  # the first scan: what serves is said by the program's start-up line
        if repository is not None:
            problem = _stat_problem(repository)
            if problem:
                raise RepositoryError("%s: --model_repository: %s" % (repository, problem))
            clash = set(self._repository_names()) & set(self._files)
            if clash:
                raise RepositoryError("%s: model %r is both in the repository and a --model"
                                      % (repository, sorted(clash)[0]))

    # -- start, poll, stop -----------------------------------------------------------------------

    def start(self, poll_s=0.0):
        """Loads what the policy serves. A --model that fails raises its error (as before
        repositories); a repository version that fails is in the index. RepositoryError when
        nothing serves and no poller would ever change that."""
        with self._scanning:
            self._starting = True
            for name in self._files:
                self._reconcile(name, settle=False, retry=True)
                failed = [v for v in self._versions[name].values() if v.error is not None]
                if not self._serving.get(name) and failed:
                    error = failed[0].error
                    break
            else:
                error = None
                self._rescan_repository(settle=False)
            self._starting = False
        if error is not None:
            self.close()
            raise error
        if not any(self._serving.values()) and not poll_s:
            reasons = "; ".join(row["reason"] for row in self.index() if row["reason"])
            self.close()
            raise RepositoryError("%s: no model version loaded%s" % (self._repository, reasons and ": " + reasons))
        if poll_s:
            self._poller = threading.Thread(target=self._poll, args=(poll_s,), name="repository-poll", daemon=True)
            self._poller.start()

    def _poll(self, poll_s):
        while not self._stop.wait(poll_s):
            try:
                self.rescan()
            except Exception as e:  # a repository gone unreadable: say so, keep what serves, try again
                LOG.error("model repository %s: %s", self._repository, _one_line(e))

    def rescan(self, settle=True):
        """One scan of the repository, as the poller does it (settle: leave files that changed since
        the previous scan for the next one)."""
        with self._scanning:
            if not self._stop.is_set():
                self._rescan_repository(settle=settle)

    def close(self, timeout_s=30.0):
        """Stops the poller; every version stops taking requests, finishes what it holds, closes."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout_s)
        with self._scanning, self._lock:
            everything = {v for table in self._versions.values() for v in table.values()}
            everything |= {v for serving in self._serving.values() for v in serving}
            self._serving = {name: [] for name in self._serving}
            for version in everything:
                self._retire(version, "the server is shutting down")
        for version in everything:
            version.closed.wait(timeout_s)

    # -- requests --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, name, version=""):
        """The Version a request runs on (the highest serving, or `version`), held until the
        request is answered: a version switched away from closes only after its last lease ends.
        HttpError 404 when there is none."""
        with self._lock:
            chosen = self._choose(name, version)
            chosen.users += 1
        try:
            yield chosen
        finally:
            with self._lock:
                chosen.users -= 1
                self._close_if_done(chosen)

    def _choose(self, name, version):
        if name not in self._versions and name not in self._files:
            raise self._unknown(name)
        serving = self._serving.get(name) or []
        if not serving:
            why = "it was unloaded" if name in self._unloaded else "; ".join(
                v.reason for v in self._versions.get(name, {}).values() if v.reason) or "none has loaded yet"
            raise HttpError(404, "model %r has no version ready: %s" % (name, why))
        if not version:
            return serving[0]
        for candidate in serving:
            if candidate.key == version:
                return candidate
        raise HttpError(404, "model %r has no version %s ready (ready: %s)"
                        % (name, version, ", ".join(v.key for v in serving)))

    def _unknown(self, name):
        return HttpError(404, "unknown model %r (this server has: %s)" % (name, ", ".join(self.names()) or "none"))

    def names(self):
        """Every model name this server knows (as of the last scan), served or not."""
        return sorted(set(self._versions) | set(self._files))

    def serving(self, name=None):
        """The serving Versions of `name` (highest first), or of every model."""
        with self._lock:
            if name is not None:
                return list(self._serving.get(name) or [])
            return [v for serving in self._serving.values() for v in serving]

    # -- the repository extension ----------------------------------------------------------------

    def index(self, ready_only=False):
        """[{name, version, state, reason}] for every model and version seen, by name and version."""
        with self._lock:
            rows = [{"name": v.name, "version": v.key, "state": v.state, "reason": v.reason}
                    for name in sorted(self._versions)
                    for v in sorted(self._versions[name].values(), key=lambda v: (v.number, v.key))]
        return [row for row in rows if row["state"] == READY] if ready_only else rows

    def load(self, name):
        """(Re)loads `name` from its files, a copy that failed before included; HttpError 404 for a
        name neither the repository nor --model holds, 400 with the reasons when no version serves."""
        with self._scanning:
            if name not in self._files and name not in self._repository_names():
                raise self._unknown(name)
            self._unloaded.discard(name)
            self._reconcile(name, settle=False, retry=True)
        if not self.serving(name):
            reasons = "; ".join(row["reason"] for row in self.index() if row["name"] == name and row["reason"])
            raise HttpError(400, "failed to load %r: %s" % (name, reasons or "no version"))

    def unload(self, name):
        """Stops serving every version of `name` (each finishes what it holds); 404 if unknown."""
        with self._scanning:
            if name not in self._versions and name not in self._files:
                raise self._unknown(name)
            self._unloaded.add(name)
            with self._lock:
                retired = self._serving.pop(name, [])
                for version in retired:
                    self._retire(version, "unloaded")
        for version in retired:
            self._on_change(name, version.key, "unloaded", None)

    # -- scanning and switching (under self._scanning) -------------------------------------------

    def _repository_names(self):
        if self._repository is None:
            return []
        return [name for name in _entries(self._repository)
                if os.path.isdir(os.path.join(self._repository, name))
                or os.path.islink(os.path.join(self._repository, name))]

    def _rescan_repository(self, settle):
        if self._repository is None:
            return
        names = self._repository_names()
        for name in names:
            if name not in self._unloaded:
                self._reconcile(name, settle=settle, retry=False)
        for name in [n for n in list(self._versions) if n not in names and n not in self._files]:
            with self._lock:  # its directory is gone: what served finishes and closes
                retired = self._serving.pop(name, [])
                for version in retired:
                    self._retire(version, "removed from the repository")
                del self._versions[name]
            for version in retired:
                self._on_change(name, version.key, "unloaded", None)

    def _found(self, name):
        if name in self._files:
            path = self._files[name]
            return {"1": Found(path, signature(path))}
        directory = os.path.join(self._repository, name)
        if not _NAME.match(name):
            return {"": Found(None, (), "%s: %r cannot be a model name (letters, digits, _ . - only)"
                              % (directory, name))}
        problem = _stat_problem(directory)
        if problem:
            return {"": Found(None, (), "%s: %s" % (directory, problem))}
        return scan_model(directory)

    def _reconcile(self, name, settle, retry):
        """Brings `name` to what its files and the policy say: goes down its versions, highest
        first, loading what is new or changed, until the policy's count serves; then switches.
        A version whose new copy does not load keeps serving its old copy. settle: leave files
        that changed since the previous scan for the next one. retry: try again copies that failed."""
        found = self._found(name)
        with self._lock:
            known = dict(self._versions.get(name, {}))
            before = list(self._serving.get(name) or [])
        table = {key: _unavailable(name, key, f, f.problem) for key, f in found.items() if f.problem is not None}
        valid = sorted((key for key, f in found.items() if f.problem is None), key=int, reverse=True)
        wanted = len(valid) if self._policy.latest is None else self._policy.latest
        serving = []
        for key in valid:
            f, old = found[key], known.get(key)
            settled = self._seen.get((name, key)) == f.signature
            self._seen[(name, key)] = f.signature
            if len(serving) >= wanted:
                table[key] = _unavailable(name, key, f, "not served: version policy %s" % (self._policy,))
                continue
            live = old if old is not None and old.state == READY and not old.retired else None
            reason, failed_now = None, None
            if live is None or live.signature != f.signature:
                failed = self._failed.get((name, key))
                if failed is not None and failed[0] == f.signature and not retry:
                    reason = failed[1]
                elif settle and not settled:
                    reason = "waiting for its files to stop changing"
                else:
                    loaded = self._load(name, key, f)
                    if loaded.error is None:
                        live = loaded
                    else:
                        reason, failed_now = loaded.reason, loaded
            if live is None:
                table[key] = failed_now or _unavailable(name, key, f, reason)
                continue
            if live is old:
                live.reason = "" if reason is None else "serves the copy loaded before; its files now: " + reason
            table[key] = live
            serving.append(live)
        self._switch(name, table, before, serving)

    def _load(self, name, key, f):
        version = Version(name, key, f.path, f.signature)
        with self._lock:  # the index shows it loading meanwhile
            self._versions.setdefault(name, {})[key] = version
        started = time.monotonic()
        try:
            version.pool = self._make_pool(name, key, f.path)
        except Exception as e:  # its one-line reason goes to the index; what serves goes on
            version.state, version.reason, version.error = UNAVAILABLE, _one_line(e), e
            version.closed.set()
            self._failed[(name, key)] = (f.signature, version.reason)
            if not (self._starting and name in self._files):  # that one is the program's error
                LOG.error("model %s version %s not loaded: %s", name, key, version.reason)
            self._on_change(name, key, "failed", None)
            return version
        self._failed.pop((name, key), None)
        version.load_s = time.monotonic() - started
        return version

    def _switch(self, name, table, before, serving):
        """New requests go to `serving` from here on; what served before and does not now retires."""
        serving.sort(key=lambda v: v.number, reverse=True)
        with self._lock:
            new = [v for v in serving if v.state == LOADING]
            for version in new:
                version.state = READY
            self._versions[name] = table
            self._serving[name] = serving
            retired = [v for v in before if v not in serving]
            for version in retired:
                if any(v.key == version.key for v in serving):
                    why = "replaced by the new copy of its files"
                else:
                    why = "version %s serves now" % serving[0].key if serving else "no copy of it loads now"
                    if version.key in table and table[version.key].pool is None:
                        table[version.key] = version  # the index shows it finishing, then unavailable
                self._retire(version, why)
        for version in new:
            self._on_change(name, version.key, "loaded", version.pool)
            if not self._starting:
                LOG.warning("model %s: version %s serves now (loaded and warmed up in %.2f s; before it: %s)",
                            name, version.key, version.load_s, ", ".join(v.key for v in before) or "none")
        for version in retired:
            self._on_change(name, version.key, "unloaded", None)

    def _retire(self, version, why):
        """Under self._lock: `version` takes no new request, and closes once none holds it."""
        if not version.retired:
            version.retired = True
            if version.pool is not None:
                version.state, version.reason = UNLOADING, why
        self._close_if_done(version)

    def _close_if_done(self, version):
        """Under self._lock: closes a retired version no request holds, on a thread of its own
        (its workers finish what is queued; joining them must not hold up a request)."""
        if not version.retired or version.users or version.closing:
            return
        version.closing = True
        if version.pool is None:
            version.closed.set()
            return

        def close():
            version.pool.close()
            with self._lock:
                version.pool = None
                if version.state == UNLOADING:
                    version.state = UNAVAILABLE
            version.closed.set()

        threading.Thread(target=close, name="close-%s-%s" % (version.name, version.key), daemon=True).start()


def _unavailable(name, key, f, reason):
    version = Version(name, key, f.path, f.signature)
    version.state, version.reason = UNAVAILABLE, reason
    version.closed.set()
    return version


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
