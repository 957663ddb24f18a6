"""A run directory: everything needed to know what was trained, and to resume it.

    RUN/
      spec.yaml        the resolved spec (extends merged, --set applied): `kspec train RUN/spec.yaml` repeats it
      run.json         spec hash; kspec, Keras, TensorFlow and Python versions; git commit of the spec file
      metrics.csv      one row per finished epoch
      data.json        supervised runs: the data's fitted normalization and facts (kspec.training.data_facts)
      logs/            TensorBoard
      checkpoints/     state.json -> epoch-NNNN.keras (last), best.keras (`.weights.h5` for generative runs)
      samples/         sample grids of generative runs
      run.lock         locked (flock) by the process training into the directory, released when it exits

Only one process trains into a run directory at a time: `kspec train` and `--resume` hold an OS file lock on
`run.lock` for their whole life. The OS drops the lock when the process ends, however it ends (kill -9
included), so a lock file left behind by a crash never blocks anyone.
"""

import datetime
import errno
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import yaml

from kspec.atomic import publish
from kspec.builder.document import plain
from kspec.errors import SpecError


def spec_hash(document):
    """sha256 of the resolved spec's canonical JSON: equal for specs that mean the same."""
    text = json.dumps(plain(document), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomic(path, text):
    """Writes `text` to `path` through a temporary file and `os.replace`, so readers see old or new, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        publish(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _git_info(spec_file):
    directory = os.path.dirname(os.path.abspath(spec_file))

    def git(*args):
        result = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=10)
        return result.stdout.strip() if result.returncode == 0 else None

    try:
        if git("rev-parse", "--is-inside-work-tree") != "true":
            return None
        commit = git("log", "-1", "--format=%H", "--", os.path.abspath(spec_file))
        status = git("status", "--porcelain", "--", os.path.abspath(spec_file))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": commit or None, "modified": bool(status)}


def _versions():
    import keras

    versions = {"python": platform.python_version(), "keras": keras.__version__}
    from kspec import __version__

    versions["kspec"] = __version__
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:
        versions["tensorflow"] = None
    return versions


LOCK_FILE = "run.lock"
# Files kspec itself writes into a run: what makes a directory "hold a run" (one committed epoch or not).
RUN_FILES = ("spec.yaml", "metrics.csv", os.path.join("checkpoints", "state.json"))
# Temporary names of kspec's own atomic writes (write_atomic, save_model_atomic, write_png) and of the probe.
TEMPORARY_PATTERNS = (".tmp-*", ".probe-*")


class RunDirectory:
    """Paths and records of one training run, and the lock of the process training into it.

    `create` (a new run) and `open_for_training` (`--resume`) take the lock; `release` gives it back (the OS
    does it anyway when the process ends). `open` is for readers (export, sample) and takes no lock.
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.given = path  # as the user wrote it, for messages that suggest a command
        self._lock = None  # the open lock file while this process holds the lock

    spec_file = property(lambda self: os.path.join(self.path, "spec.yaml"))
    record_file = property(lambda self: os.path.join(self.path, "run.json"))
    metrics_file = property(lambda self: os.path.join(self.path, "metrics.csv"))
    log_dir = property(lambda self: os.path.join(self.path, "logs"))
    checkpoint_dir = property(lambda self: os.path.join(self.path, "checkpoints"))
    samples_dir = property(lambda self: os.path.join(self.path, "samples"))
    lock_file = property(lambda self: os.path.join(self.path, LOCK_FILE))

    @classmethod
    def reserve(cls, spec, out=None):
        """The directory of a new run, not created yet (that waits for the data checks, see `create`).

        When it exists already it is locked at once, so that a second trainer on it is refused before it
        loads any data, and refused if it holds another run.

        Args:
            spec: the resolved spec (its file name makes the default directory name).
            out: the directory; default `runs/<spec name>-<UTC time>` under the working directory.
        """
        if out is None:
            stem = os.path.splitext(os.path.basename(spec.file))[0]
            out = os.path.join("runs", f"{stem}-{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}")
        run = cls(out)
        if os.path.isdir(run.path):
            run.acquire("--out")
            run._refuse_existing_run()
        return run

    def create(self, spec, required_bytes=0):
        """Makes the reserved directory, locks it, and writes spec.yaml and run.json.

        Args:
            spec: the resolved spec.
            required_bytes: free space needed for checkpoints; less gives an error before training starts.
        """
        # Measured where the directory will be, before anything is made: a refused run leaves nothing behind.
        check_free_space(_existing_ancestor(self.path), required_bytes, "checkpoints", path="--out", shown=self.path)
        try:
            os.makedirs(self.checkpoint_dir, exist_ok=True)
        except OSError as error:
            raise SpecError(f"cannot write the run directory {self.path}: {error.strerror}", path="--out") from None
        self.acquire("--out")
        self._refuse_existing_run()
        try:
            probe = tempfile.NamedTemporaryFile(dir=self.path, prefix=".probe-")
            probe.close()
        except OSError as error:
            raise SpecError(f"cannot write the run directory {self.path}: {error.strerror}", path="--out") from None
        write_atomic(self.spec_file, "# Resolved spec of this run: extends merged, overrides applied.\n"
                     + yaml.safe_dump(plain(spec.document), sort_keys=False))
        record = {
            "spec": os.path.abspath(spec.file),
            "spec_hash": spec_hash(spec.document),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "versions": _versions(),
            "git": _git_info(spec.file),
        }
        write_atomic(self.record_file, json.dumps(record, indent=2) + "\n")
        return self

    @classmethod
    def open(cls, path):
        """An existing run directory, for reading (export, sample, evaluate); takes no lock."""
        run = cls(path)
        if not os.path.isfile(run.spec_file):
            raise SpecError(f"{run.path} is not a kspec run directory (no spec.yaml)", path="RUN_DIR")
        return run

    @classmethod
    def open_for_training(cls, path):
        """An existing run to resume: locked, and cleared of temporary files that interrupted saves left."""
        run = cls.open(path)
        run.acquire("--resume")
        run.remove_stale_temporaries()
        return run

    # -- the lock ------------------------------------------------------------------------------------------

    def acquire(self, option):
        """Takes the run's lock (non-blocking); a directory another process trains into is a `SpecError`.

        Args:
            option: the command-line option that named the directory (`--out`, `--resume`), for messages.
        """
        if self._lock is not None:
            return
        import fcntl

        try:
            handle = open(self.lock_file, "a+", encoding="utf-8")
        except OSError as error:
            raise SpecError(f"cannot write the run directory {self.path}: {error.strerror}", path=option) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise SpecError(f"cannot lock {self.lock_file}: {error.strerror}; kspec needs file locks to keep "
                                "two trainers out of one run directory", path=option) from None
            process = f"another kspec process (pid {holder})" if holder.isdigit() else "another kspec process"
            todo = ("wait for it to end (or stop it) before resuming" if option == "--resume"
                    else "choose another --out, or wait for that run to end and resume it with --resume")
            raise SpecError(f"{self.path} is being trained by {process}; {todo}", path=option) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def release(self):
        """Gives the lock back (closing the file releases the flock); harmless when not held."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def locked(self):
        return self._lock is not None

    def remove_stale_temporaries(self):
        """Deletes temporary files of interrupted atomic writes; only kspec's own names, only under the lock."""
        if not self.locked:
            raise RuntimeError("remove_stale_temporaries needs the run's lock: another process may be writing")
        removed = []
        for directory in (self.path, self.checkpoint_dir, self.samples_dir):
            for pattern in TEMPORARY_PATTERNS:
                for path in glob.glob(os.path.join(directory, pattern)):
                    if os.path.isfile(path) and not os.path.islink(path):
                        os.remove(path)
                        removed.append(path)
        return removed

    def _refuse_existing_run(self):
        found = [name for name in RUN_FILES if os.path.exists(os.path.join(self.path, name))]
        if found:
            raise SpecError(f"{self.path} already holds a run ({', '.join(found)}); resume it with --resume "
                            f"{self.given} or choose another --out", path="--out")

    def record(self):
        """run.json as a dict; a missing or damaged one is a `SpecError` naming it."""
        try:
            with open(self.record_file, encoding="utf-8") as stream:
                record = json.load(stream)
        except (OSError, ValueError) as error:
            raise SpecError(f"cannot read {self.record_file} ({getattr(error, 'strerror', None) or error}); "
                            "it is written once when the run starts: copy it from a backup of the run",
                            path="RUN_DIR") from None
        if not isinstance(record, dict):
            raise SpecError(f"{self.record_file} is not a kspec run record (expected a JSON object)", path="RUN_DIR")
        return record


def check_free_space(directory, required_bytes, what, path, shown=None):
    """Raises a `SpecError` when `directory`'s file system has less than `required_bytes` free.

    Args:
        directory: an existing directory on the file system to measure.
        required_bytes: what the writes need, temporary copies included.
        what: what needs the space, for the message ("checkpoints").
        path: the option or spec path the error is reported at.
        shown: the directory named in the message (default `directory`).
    """
    free = shutil.disk_usage(directory).free
    if free < required_bytes:
        raise SpecError(f"only {free / 2**20:.0f} MiB free at {shown or directory}; {what} need about "
                        f"{required_bytes / 2**20:.0f} MiB", path=path)


def _existing_ancestor(path):
    """`path` or its nearest ancestor that exists."""
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path
