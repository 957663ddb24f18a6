"""The study database of `kspec tune`: PostgreSQL for workers on several machines, clear errors for bad URLs."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import optuna
import pytest
from support import run_cli

from kspec.tune.study import _dead_here, worker_identity


def _postgres_bin():
    found = shutil.which("postgres")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(candidates[-1]) if candidates else None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server on 127.0.0.1 that this test module starts and stops (trust auth, no fsync)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no `postgres` binary on this machine: the PostgreSQL storage is not tested here "
                    "(the SQLite tests always run)")
    prefix = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the `postgres` system user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        prefix = ["runuser", "-u", "postgres", "--"]
    home = tempfile.mkdtemp(prefix="kspec-pg-")
    os.chmod(home, 0o777)
    data = os.path.join(home, "data")
    port = _free_port()
    subprocess.run([*prefix, os.path.join(bin_dir, "initdb"), "-D", data, "-U", "kspec", "--auth=trust"],
                   check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([*prefix, os.path.join(bin_dir, "postgres"), "-D", data, "-p", str(port),
                               "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={home}",
                               "-c", "fsync=off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql+psycopg://kspec@127.0.0.1:{port}/postgres"  # psycopg 3 whatever SQLAlchemy defaults to
    try:
        deadline = time.time() + 60
        while True:
            ready = subprocess.run([os.path.join(bin_dir, "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                   capture_output=True)
            if ready.returncode == 0:
                break
            assert server.poll() is None and time.time() < deadline, "PostgreSQL did not start"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def test_a_study_in_postgresql(write_spec, tuning_spec, tmp_path, postgres_url):
    spec = write_spec(tuning_spec.replace("trials: 3", "trials: 2"))
    result = run_cli("tune", spec, "--out", tmp_path / "study", "--storage", postgres_url, "--study", "pg")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="pg", storage=postgres_url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert not os.path.exists(tmp_path / "study" / "study.db")  # the runs are local, the study is not
    assert sorted(os.listdir(tmp_path / "study")) == ["best.yaml", "objective.png", "trial-0000", "trial-0001",
                                                      "trials.csv"]


def test_an_unreachable_database_is_one_line_without_the_password(write_spec, tuning_spec, tmp_path):
    port = _free_port()  # nothing listens there
    spec = write_spec(tuning_spec)
    url = f"postgresql+psycopg://kspec:secret@127.0.0.1:{port}/db"
    result = run_cli("tune", spec, "--out", tmp_path / "study", "--storage", url)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"--storage: cannot open postgresql+psycopg://kspec@127.0.0.1:{port}/db: connection failed: connection to "
        f'server at "127.0.0.1", port {port} failed: Connection refused')


def test_a_trial_is_dead_only_when_its_process_is_gone_on_this_machine():
    host, boot, pid = worker_identity().rsplit("/", 2)
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert _dead_here(f"{host}/{boot}/{gone.pid}")
    assert not _dead_here(f"{host}/{boot}/{os.getppid()}")  # alive
    assert not _dead_here(f"{host}/{boot}/{pid}")  # this very process
    assert not _dead_here(f"{host}/another-boot/{gone.pid}")  # before a reboot: the heartbeat decides
    assert not _dead_here(f"elsewhere/{boot}/{gone.pid}")  # another machine: the heartbeat decides
    assert not _dead_here(None)
