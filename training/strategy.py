"""`training.distribute`: the `tf.distribute` strategy a run trains under, and which process writes the run.

    training:
      distribute: mirrored       # every GPU of this machine (or its CPU), one replica each
      distribute: multi_worker   # several machines; TF_CONFIG names the cluster and this process's task

For `multi_worker` every machine runs the same `kspec train` command with its own TF_CONFIG, as TensorFlow
documents (https://www.tensorflow.org/guide/distributed_training#setting_up_the_tf_config_environment_variable):

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

The chief (task `chief` 0, else `worker` 0) writes the run directory. The other workers must save too (reading
synchronized variables is a collective every worker joins), so they write their checkpoints, logs and samples
into a temporary directory removed when training ends; nothing they write can clash with the chief's.
The global batch is `training.batch_size`, split between all replicas of all workers.
"""

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass

from kspec.errors import SpecError

STRATEGIES = ("mirrored", "multi_worker")
# Seconds a worker waits for the others to join before giving up (TensorFlow's own default is forever).
CLUSTER_TIMEOUT_VARIABLE = "KSPEC_CLUSTER_TIMEOUT"
DEFAULT_CLUSTER_TIMEOUT = 300
_EXAMPLE = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\'')


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a TF_CONFIG cluster.

    Attributes:
        cluster: job name -> list of `host:port` addresses.
        task_type: `chief` or `worker`.
        task_index: index of this task within its job.
    """

    cluster: dict
    task_type: str
    task_index: int

    @property
    def is_chief(self):
        """Whether this task writes the run directory: `chief` 0, or `worker` 0 in a cluster without a chief."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def name(self):
        return f"{self.task_type} {self.task_index}"


def _tf_config_error(message):
    return SpecError(f"{message}; expected JSON such as {_EXAMPLE}", path="TF_CONFIG")


def read_tf_config(environ=None):
    """Reads and checks the TF_CONFIG environment variable (no TensorFlow needed).

    Args:
        environ: the environment (default `os.environ`).

    Returns:
        A `ClusterTask`.

    Raises:
        SpecError: naming TF_CONFIG, for a missing or malformed value.

    Example:
    >>> task = read_tf_config({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, '
    ...                                     '"task": {"type": "worker", "index": 1}}'})
    >>> task.name, task.is_chief
    ('worker 1', False)
    """
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not text:
        raise _tf_config_error("`training.distribute: multi_worker` needs the TF_CONFIG environment variable, "
                               "which is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise _tf_config_error(f"not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise _tf_config_error("expected an object with a non-empty `cluster` object")
    cluster = config["cluster"]
    for job, addresses in cluster.items():
        if job not in ("chief", "worker"):
            raise _tf_config_error(f"cluster job `{job}` is not supported (kspec trains with `chief` and `worker` "
                                   "tasks only)")
        if not isinstance(addresses, list) or not addresses:
            raise _tf_config_error(f"cluster.{job}: expected a non-empty list of \"host:port\" addresses. "
                                   f"Received: {addresses!r}")
        for address in addresses:
            if not _is_address(address):
                raise _tf_config_error(f"cluster.{job}: expected \"host:port\" addresses with a port in 1-65535. "
                                       f"Received: {address!r}")
    if len(cluster.get("chief", [])) > 1:
        raise _tf_config_error(f"cluster.chief: expected one address. Received: {cluster['chief']!r}")
    task = config.get("task")
    if not isinstance(task, dict):
        raise _tf_config_error("expected a `task` object naming this process's `type` and `index`")
    task_type, task_index = task.get("type"), task.get("index", 0)
    if task_type not in cluster:
        raise _tf_config_error(f"task.type: expected one of the cluster's jobs ({', '.join(cluster)}). "
                               f"Received: type={task_type!r}")
    if not isinstance(task_index, int) or isinstance(task_index, bool) or not 0 <= task_index < len(cluster[task_type]):
        count = len(cluster[task_type])
        raise _tf_config_error(f"task.index: expected an integer in 0-{count - 1} (cluster.{task_type} has {count} "
                               f"addresses). Received: index={task_index!r}")
    return ClusterTask(cluster, task_type, task_index)


def _is_address(address):
    if not isinstance(address, str) or ":" not in address:
        return False
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def cluster_timeout(environ=None):
    """Seconds to wait for the other workers: KSPEC_CLUSTER_TIMEOUT, default 300."""
    text = (os.environ if environ is None else environ).get(CLUSTER_TIMEOUT_VARIABLE, str(DEFAULT_CLUSTER_TIMEOUT))
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value > 0:
        raise SpecError(f"expected a positive number of seconds. Received: {CLUSTER_TIMEOUT_VARIABLE}={text!r}",
                        path=CLUSTER_TIMEOUT_VARIABLE)
    return value


def make_strategy(distribute, environ=None):
    """The `tf.distribute.Strategy` for `training.distribute` (None: TensorFlow's default, one device).

    Must run before TensorFlow executes any op: a multi-worker strategy configures the runtime's collectives.

    Args:
        distribute: None, `mirrored` or `multi_worker`.
        environ: the environment holding TF_CONFIG (default `os.environ`).

    Returns:
        `(strategy, task)`: the strategy, and the `ClusterTask` of a multi-worker run (else None).

    Raises:
        SpecError: for an unknown name, a bad TF_CONFIG, or workers that do not all join within
            KSPEC_CLUSTER_TIMEOUT seconds.
    """
    import tensorflow as tf

    if distribute is None:
        return tf.distribute.get_strategy(), None
    if distribute == "mirrored":
        return tf.distribute.MirroredStrategy(), None
    if distribute != "multi_worker":
        raise SpecError(f"expected one of {', '.join(STRATEGIES)}. Received: distribute={distribute!r}",
                        path="training.distribute")
    task = read_tf_config(environ)
    timeout = cluster_timeout(environ)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(task.cluster), task_type=task.task_type, task_id=task.task_index, rpc_layer="grpc")
    # TensorFlow's constructor waits for every task inside its runtime, with no time limit and no way to interrupt
    # it from Python, so the peers are awaited here first, within the limit.
    wait_for_peers(task, timeout)
    try:
        strategy = _keras_compatible(tf)(cluster_resolver=resolver)
    except (RuntimeError, tf.errors.OpError) as error:
        raise SpecError(f"{task.name} could not join the cluster: {_first_line(error)}", path="TF_CONFIG") from None
    return strategy, task


def wait_for_peers(task, timeout):
    """Waits until every other task of the cluster accepts a TCP connection, listening on this task's port meanwhile.

    Every task listens before it checks the others, so tasks started in any order all see each other; a task
    that never starts (or a wrong address) gives an error after `timeout` seconds instead of a silent hang.

    Args:
        task: this process's `ClusterTask`.
        timeout: seconds to wait.

    Raises:
        SpecError: naming TF_CONFIG and the tasks that did not answer, or this task's address when it cannot listen.
    """
    own = task.cluster[task.task_type][task.task_index]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(own.rpartition(":")[2])))  # TensorFlow's server binds all interfaces too
        listener.listen(64)
    except OSError as error:
        listener.close()
        raise SpecError(f"{task.name} cannot listen on its address {own}: {error.strerror}; is another process "
                        "using the port?", path="TF_CONFIG") from None
    pending = {f"{job} {index}": address for job, addresses in task.cluster.items()
               for index, address in enumerate(addresses) if (job, index) != (task.task_type, task.task_index)}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            for name, address in list(pending.items()):
                host, _, port = address.rpartition(":")
                try:
                    socket.create_connection((host, int(port)), timeout=1).close()
                    del pending[name]
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                missing = ", ".join(f"{name} at {address}" for name, address in pending.items())
                raise SpecError(f"{missing} did not answer within {timeout:g} s ({task.name} waiting): start "
                                f"`kspec train` with the same spec there, or check the address "
                                f"({CLUSTER_TIMEOUT_VARIABLE} sets the wait)", path="TF_CONFIG")
            if pending:
                time.sleep(0.2)
    finally:
        listener.close()


def _first_line(error):
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _keras_compatible(tf):
    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """Reduces what Keras 3's `fit` hands a multi-worker strategy (keras-team/keras#20585).

        Before its first step `fit` reduces a whole `(inputs, targets)` batch in one call, and after each
        step it reduces the scalar metrics along `axis=0`; TensorFlow's multi-worker strategy refuses both
        (the mirrored one accepts them). Here structures are reduced leaf by leaf and scalars across
        replicas only, which is what Keras means.
        """

        def reduce(self, reduce_op, value, axis):
            if isinstance(value, (tuple, list, dict)):
                return tf.nest.map_structure(lambda leaf: self.reduce(reduce_op, leaf, axis), value)
            local = self.experimental_local_results(value)[0]
            if axis is not None and getattr(local, "shape", None) is not None and local.shape.rank == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy


@contextlib.contextmanager
def distributed(distribute, out=None, resume=None):
    """Runs the body under the strategy of `training.distribute`, in the place this process may write.

    Args:
        distribute: None, `mirrored` or `multi_worker`.
        out: the run directory asked for (`--out`).
        resume: the run directory to continue (`--resume`), or None.

    Yields:
        `(out, resume, task)`: unchanged for one process and for the chief; for another worker of a multi-worker
        run, a fresh temporary directory (holding a copy of `resume`, when resuming) that is removed on exit,
        and its `ClusterTask`.
    """
    if distribute is None:  # TensorFlow's default strategy needs no scope (nor TensorFlow imported yet)
        yield out, resume, None
        return
    strategy, task = make_strategy(distribute)
    if task is None or task.is_chief:
        with strategy.scope():
            yield out, resume, task
        return
    scratch = tempfile.mkdtemp(prefix=f"kspec-{task.task_type}-{task.task_index}-")
    try:
        own = os.path.join(scratch, "run")
        if resume is not None:
            # Every worker restores the same checkpoint; this one reads the chief's run (on shared storage, or
            # copied to the same path on each host) and writes only into its copy.
            shutil.copytree(resume, own)
        with strategy.scope():
            yield own, (own if resume is not None else None), task
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
