"""A run directory: everything needed to know what was trained, and to resume it.

    RUN/
      spec.yaml        the resolved spec (extends merged, --set applied): `kspec train RUN/spec.yaml` repeats it
      run.json         spec hash; kspec, Keras, TensorFlow and Python versions; git commit of the spec file
      metrics.csv      one row per finished epoch
      logs/            TensorBoard
      checkpoints/     state.json -> epoch-NNNN.keras (last), best.keras
"""

import datetime
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


class RunDirectory:
    """Paths and records of one training run."""

    def __init__(self, path):
        self.path = os.path.abspath(path)

    spec_file = property(lambda self: os.path.join(self.path, "spec.yaml"))
    record_file = property(lambda self: os.path.join(self.path, "run.json"))
    metrics_file = property(lambda self: os.path.join(self.path, "metrics.csv"))
    log_dir = property(lambda self: os.path.join(self.path, "logs"))
    checkpoint_dir = property(lambda self: os.path.join(self.path, "checkpoints"))
    samples_dir = property(lambda self: os.path.join(self.path, "samples"))

    @classmethod
    def create(cls, spec, out=None, required_bytes=0):
        """Makes a new run directory for `spec` (a `ResolvedSpec`) and writes spec.yaml and run.json.

        Args:
            spec: the resolved spec.
            out: the directory; default `runs/<spec name>-<UTC time>` under the working directory.
            required_bytes: free space needed for checkpoints; less gives an error before training starts.
        """
        if out is None:
            stem = os.path.splitext(os.path.basename(spec.file))[0]
            out = os.path.join("runs", f"{stem}-{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}")
        run = cls(out)
        if os.path.exists(os.path.join(run.path, "checkpoints", "state.json")):
            raise SpecError(f"{run.path} already holds a run; resume it with --resume {out} or choose another --out",
                            path="--out")
        try:
            os.makedirs(run.checkpoint_dir, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=run.path, prefix=".probe-")
            probe.close()
        except OSError as error:
            raise SpecError(f"cannot write the run directory {run.path}: {error.strerror}", path="--out") from None
        free = shutil.disk_usage(run.path).free
        if free < required_bytes:
            raise SpecError(
                f"only {free / 2**20:.0f} MiB free at {run.path}; checkpoints need about {required_bytes / 2**20:.0f} MiB",
                path="--out")
        write_atomic(run.spec_file, "# Resolved spec of this run: extends merged, overrides applied.\n"
                     + yaml.safe_dump(plain(spec.document), sort_keys=False))
        record = {
            "spec": os.path.abspath(spec.file),
            "spec_hash": spec_hash(spec.document),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "versions": _versions(),
            "git": _git_info(spec.file),
        }
        write_atomic(run.record_file, json.dumps(record, indent=2) + "\n")
        return run

    @classmethod
    def open(cls, path):
        """An existing run directory (for --resume, export, sample)."""
        run = cls(path)
        if not os.path.isfile(run.spec_file):
            raise SpecError(f"{run.path} is not a kspec run directory (no spec.yaml)", path="RUN_DIR")
        return run

    def record(self):
        with open(self.record_file, encoding="utf-8") as stream:
            return json.load(stream)
