"""`training.distribute`: TF_CONFIG checks, and two real worker processes training one spec on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from support import SPECS_DIR

from kspec.errors import SpecError
from kspec.training.strategy import cluster_timeout, read_tf_config, wait_for_peers

EXAMPLE = ('expected JSON such as TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
           '"task": {"type": "worker", "index": 0}}\'')
TWO_WORKERS = '{"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}'


@pytest.mark.parametrize("text, expected", [
    (None, "`training.distribute: multi_worker` needs the TF_CONFIG environment variable, which is not set"),
    ("{cluster: 1}", "not valid JSON (Expecting property name enclosed in double quotes at character 1)"),
    ('{"task": {"type": "worker"}}', "expected an object with a non-empty `cluster` object"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps"}}',
     "cluster job `ps` is not supported (kspec trains with `chief` and `worker` tasks only)"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker"}}',
     "cluster.worker: expected a non-empty list of \"host:port\" addresses. Received: []"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker"}}',
     "cluster.worker: expected \"host:port\" addresses with a port in 1-65535. Received: 'localhost'"),
    ('{"cluster": {"worker": ["a:70000"]}, "task": {"type": "worker"}}',
     "cluster.worker: expected \"host:port\" addresses with a port in 1-65535. Received: 'a:70000'"),
    ('{"cluster": {"chief": ["a:1", "b:2"]}, "task": {"type": "chief"}}',
     "cluster.chief: expected one address. Received: ['a:1', 'b:2']"),
    (f'{{"cluster": {TWO_WORKERS}}}', "expected a `task` object naming this process's `type` and `index`"),
    (f'{{"cluster": {TWO_WORKERS}, "task": {{"type": "chief", "index": 0}}}}',
     "task.type: expected one of the cluster's jobs (worker). Received: type='chief'"),
    (f'{{"cluster": {TWO_WORKERS}, "task": {{"type": "worker", "index": 2}}}}',
     "task.index: expected an integer in 0-1 (cluster.worker has 2 addresses). Received: index=2"),
])
def test_malformed_tf_config_is_one_clear_error(text, expected):
    with pytest.raises(SpecError) as error:
        read_tf_config({} if text is None else {"TF_CONFIG": text})
    assert str(error.value) == f"TF_CONFIG: {expected}; {EXAMPLE}"


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
])
def test_the_chief_is_chief_0_else_worker_0(cluster, task, chief):
    assert read_tf_config({"TF_CONFIG": json.dumps({"cluster": cluster, "task": task})}).is_chief is chief


def test_cluster_timeout_must_be_positive():
    assert cluster_timeout({}) == 300 and cluster_timeout({"KSPEC_CLUSTER_TIMEOUT": "2.5"}) == 2.5
    with pytest.raises(SpecError) as error:
        cluster_timeout({"KSPEC_CLUSTER_TIMEOUT": "soon"})
    assert str(error.value) == "KSPEC_CLUSTER_TIMEOUT: expected a positive number of seconds. Received: " \
                               "KSPEC_CLUSTER_TIMEOUT='soon'"


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# One worker: trains through kspec's own entry point and records its final weights and epoch logs.
WORKER = textwrap.dedent(
    """
    import json, sys
    import keras; keras.config.disable_traceback_filtering()
    import numpy as np
    from kspec.training.train import train

    spec, out, record, overrides = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.logs = {k: float(v) for k, v in (logs or {}).items()}

        def on_train_end(self, logs=None):
            np.savez(record, *self.model.get_weights())
            with open(record + ".json", "w") as stream:
                json.dump(self.logs, stream)

    run = train(spec, overrides=overrides, out=out, verbose=0, callbacks=[Record()])
    print("RUN", run.path if run else None)
    """
)


def start_workers(tmp_path, spec, overrides, count=2, addresses=None, timeout="120"):
    addresses = addresses or [f"127.0.0.1:{port}" for port in free_ports(count)]
    processes = []
    for index in range(count):
        scratch = tmp_path / f"tmp-{index}"
        scratch.mkdir()
        environment = dict(os.environ, TMPDIR=str(scratch), KSPEC_CLUSTER_TIMEOUT=timeout, TF_CPP_MIN_LOG_LEVEL="3",
                           TF_CONFIG=json.dumps({"cluster": {"worker": addresses},
                                                 "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, spec, str(tmp_path / "run"), str(tmp_path / f"weights-{index}.npz"),
             *overrides],
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path))
    return processes


def finish(processes, seconds):
    """Waits for every process until a shared deadline; kills them all on timeout or when one fails."""
    deadline = time.monotonic() + seconds
    try:
        while any(p.poll() is None for p in processes):
            if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in processes):
                break
            time.sleep(0.2)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    return [(p.wait(), *p.communicate()) for p in processes]


MULTI_WORKER = ["training.distribute=multi_worker", "training.epochs=2", "training.batch_size=16",
                "data.args.limit=96"]


@pytest.mark.slow
@pytest.mark.parametrize("spec, overrides", [
    ("cnn_classifier.yaml", ["params.filters=4", "params.image_size=8", "data.args.size=8", "training.callbacks={}"]),
    ("vae.yaml", ["params.base_filters=4", "params.image_size=8", "training.samples={count: 4, every: 1}"]),
], ids=["supervised", "vae"])
def test_two_workers_end_with_identical_weights_and_only_the_chief_writes_the_run(tmp_path, spec, overrides):
    outcomes = finish(start_workers(tmp_path, os.path.join(SPECS_DIR, spec), overrides + MULTI_WORKER), seconds=240)
    for index, (code, stdout, stderr) in enumerate(outcomes):
        assert code == 0, f"worker {index} exited {code}: {stderr[-3000:]}"
    assert outcomes[0][1].splitlines()[-1] == f"RUN {tmp_path / 'run'}"
    assert outcomes[1][1].splitlines()[-1] == "RUN None"

    first, second = (np.load(tmp_path / f"weights-{i}.npz") for i in range(2))
    assert len(first.files) == len(second.files) > 0
    assert max(float(np.abs(first[k] - second[k]).max()) for k in first.files) == 0.0
    logs = [json.loads((tmp_path / f"weights-{i}.npz.json").read_text()) for i in range(2)]
    assert logs[0] == logs[1] and "loss" in logs[0]

    # The chief's run is complete; the other worker left nothing behind (its scratch run was removed).
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 3
    assert os.listdir(tmp_path / "tmp-1") == []
    assert sorted(os.listdir(tmp_path)) == ["run", "tmp-0", "tmp-1", "weights-0.npz", "weights-0.npz.json",
                                            "weights-1.npz", "weights-1.npz.json"]


def task_of(addresses, index):
    return read_tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                                    "task": {"type": "worker", "index": index}})})


def test_workers_started_one_after_the_other_all_see_each_other():
    addresses = [f"127.0.0.1:{port}" for port in free_ports(3)]
    errors, servers = [], []

    def join(index):
        try:
            wait_for_peers(task_of(addresses, index), timeout=20)
        except SpecError as error:
            errors.append(error)
            return
        server = socket.socket()  # what TensorFlow's server does next: listen on the same port
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("", int(addresses[index].rpartition(":")[2])))
        server.listen()
        servers.append(server)

    threads = [threading.Thread(target=join, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(30)
    for server in servers:
        server.close()
    assert errors == [] and not any(thread.is_alive() for thread in threads) and len(servers) == 3


def test_a_peer_that_never_starts_is_named_after_the_timeout():
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    started = time.monotonic()
    with pytest.raises(SpecError) as error:
        wait_for_peers(task_of(addresses, 0), timeout=0.5)
    assert time.monotonic() - started < 5
    assert str(error.value) == (
        f"TF_CONFIG: worker 1 at {addresses[1]} did not answer within 0.5 s (worker 0 waiting): start `kspec train` "
        "with the same spec there, or check the address (KSPEC_CLUSTER_TIMEOUT sets the wait)")


def test_a_task_whose_port_is_taken_says_so():
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(addresses[0].rpartition(":")[2])))
        taken.listen()
        with pytest.raises(SpecError) as error:
            wait_for_peers(task_of(addresses, 0), timeout=0.5)
    assert str(error.value) == (f"TF_CONFIG: worker 0 cannot listen on its address {addresses[0]}: Address already in "
                                "use; is another process using the port?")


@pytest.mark.slow
def test_kspec_train_with_an_absent_peer_fails_in_one_line_within_the_timeout(tmp_path):
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    environment = dict(os.environ, KSPEC_CLUSTER_TIMEOUT="2", TF_CPP_MIN_LOG_LEVEL="3",
                       TF_CONFIG=json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": 0}}))
    completed = subprocess.run(
        [sys.executable, "-m", "kspec.cli", "train", os.path.join(SPECS_DIR, "cnn_classifier.yaml"), "--out",
         str(tmp_path / "run"), "--set", "training.distribute=multi_worker"],
        env=environment, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1] == (
        f"TF_CONFIG: worker 1 at {addresses[1]} did not answer within 2 s (worker 0 waiting): start `kspec train` "
        "with the same spec there, or check the address (KSPEC_CLUSTER_TIMEOUT sets the wait)")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_mirrored_distribution_trains_in_the_strategy_scope(tmp_path):
    import keras

    from kspec.training.train import train

    class Strategy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.strategy = type(self.model.distribute_strategy).__name__

    seen = Strategy()
    run = train(os.path.join(SPECS_DIR, "cnn_classifier.yaml"), out=str(tmp_path / "run"), verbose=0,
                callbacks=[seen], overrides=["training.distribute=mirrored", "params.filters=4", "params.image_size=8",
                                             "data.args.size=8", "data.args.limit=64", "training.epochs=1"])
    assert seen.strategy == "MirroredStrategy"
    assert json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())["epoch"] == 1
    assert run.path == str(tmp_path / "run")
