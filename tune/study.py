"""The Optuna study behind `kspec tune`: its storage, sampler and pruner, the spec it belongs to, and the
recovery of trials whose worker died.

A study lives in a database (SQLite file by default, PostgreSQL for workers on several machines). Each
trial records which worker runs it (host, boot and process id); a trial left `RUNNING` by a process that no
longer exists on this machine (`kill -9`, power loss) is failed and queued again with the same values when a
worker starts. Workers on other machines are watched by Optuna's heartbeat instead: a trial whose worker
stops beating for `GRACE_PERIOD` seconds is failed and queued again by whichever worker looks next.
"""

import contextlib
import os
import random
import socket
import threading
import time
import warnings
import zlib

from kspec.errors import SpecError

HEARTBEAT_INTERVAL = 10  # seconds between a running trial's heartbeats
GRACE_PERIOD = 60  # seconds without a heartbeat after which a trial counts as dead
MAX_RETRIES = 2  # times a trial interrupted by a dead worker is run again
_OPEN_ATTEMPTS = 5
_RACE_WORDS = ("UNIQUE constraint", "already exists", "duplicate key", "database is locked")
_WORKER = "kspec_worker"
_SPEC_HASH = "kspec_spec_hash"
_SPEC = "kspec_spec"


def optuna_quietly():
    """Imports Optuna with its INFO logging and experimental-feature warnings (heartbeat, retry) silenced."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # kspec runs its own ask/tell loop with heartbeats (`heartbeat` below), which Optuna does not foresee.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    return optuna


def storage_url(storage, out):
    """The database URL: `storage` as given, else SQLite in `out/study.db`."""
    return storage or f"sqlite:///{os.path.abspath(os.path.join(out, 'study.db'))}"


def open_storage(url):
    """An Optuna RDB storage with heartbeats and retries of trials whose worker died."""
    optuna = optuna_quietly()
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES))
        except ImportError as error:  # the database driver, e.g. psycopg for postgresql://
            raise SpecError(f"cannot open {_shown(url)}: {error}; install the database driver "
                            "(for PostgreSQL: pip install 'psycopg[binary]')", path="--storage") from None
        except Exception as error:  # noqa: BLE001 (SQLAlchemy's errors: unreachable server, bad URL, permissions)
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            # Workers that start together race to create the tables of a new database: the loser sees them
            # half made, and succeeds a moment later.
            if attempt + 1 < _OPEN_ATTEMPTS and any(word in reason for word in _RACE_WORDS):
                time.sleep(0.2 + random.random())
                continue
            raise SpecError(f"cannot open {_shown(url)}: {reason}", path="--storage") from None


def _shown(url):
    """The URL without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}@{tail}"


def make_sampler(search, seed, grid=None):
    """The sampler named in `search:` (tpe, random, grid), seeded."""
    optuna = optuna_quietly()
    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.sampler == "grid":
        return optuna.samplers.GridSampler(grid, seed=seed)
    # A third of the budget (3 to 10 trials) samples at random before TPE models the results; constant_liar
    # makes concurrent workers avoid the values other workers are running.
    startup = max(3, min(10, search.trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)


def make_pruner(search, epochs):
    """The pruner named in `search:`: median, hyperband, none. Steps are epochs done (1, 2, ...).

    The median pruner stops a trial whose best value so far trails the median of the finished trials at the
    same epoch, once 3 trials have finished, from the second epoch on: one epoch says little about a slow
    starter (a low learning rate).
    """
    optuna = optuna_quietly()
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def open_study(storage, name, search, spec_hash, spec_file, epochs, grid=None):
    """Creates the study, or joins it; refuses a study made from a different spec.

    The worker that creates the study samples with `search.seed` (a one-worker study is reproducible);
    workers that join or resume it get seeds of their own, so that they do not propose the same values.
    """
    optuna = optuna_quietly()
    pruner = make_pruner(search, epochs)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=search.direction,
                                    sampler=make_sampler(search, search.seed, grid), pruner=pruner)
        study.set_user_attr(_SPEC_HASH, spec_hash)
        study.set_user_attr(_SPEC, os.path.abspath(spec_file))
        return study
    except optuna.exceptions.DuplicatedStudyError:
        pass
    seed = (search.seed + zlib.crc32(worker_identity().encode())) % 2**31
    study = optuna.load_study(study_name=name, storage=storage, sampler=make_sampler(search, seed, grid),
                              pruner=pruner)
    recorded = study.user_attrs.get(_SPEC_HASH)
    if recorded is not None and recorded != spec_hash:
        raise SpecError(
            f"study `{name}` in {_shown(storage.url)} was created from a different spec "
            f"({study.user_attrs.get(_SPEC, '?')}, spec hash {recorded[:16]}); {spec_file} hashes to "
            f"{spec_hash[:16]}. Tune it in another directory (--out) or under another --study name",
            path="--out")
    if study.direction.name.lower() != search.direction:
        raise SpecError(f"study `{name}` {study.direction.name.lower()}s its objective; the spec asks to "
                        f"{search.direction} it", path="search.objective")
    return study


def worker_identity():
    """`host/boot id/pid` of this process: a pid names a process only on one machine, during one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as stream:
            boot = stream.read().strip()
    except OSError:
        boot = "?"
    return f"{socket.gethostname()}/{boot}/{os.getpid()}"


def claim(trial):
    """Records on the trial which worker runs it."""
    trial.set_user_attr(_WORKER, worker_identity())


def _dead_here(worker):
    host, boot, pid = (worker or "//").rsplit("/", 2)
    here_host, here_boot, here_pid = worker_identity().rsplit("/", 2)
    if (host, boot) != (here_host, here_boot) or not pid.isdigit() or pid == here_pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def recover_dead_trials(study):
    """Fails and re-queues the running trials whose worker is gone: dead on this machine, or silent for
    `GRACE_PERIOD` seconds anywhere (Optuna's heartbeat). Returns the numbers of the trials failed here."""
    optuna = optuna_quietly()
    storage = _storage(study)
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if not _dead_here(trial.user_attrs.get(_WORKER)):
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL):
                failed.append(trial.number)
                storage.get_heartbeat_stale_trial_callback()(study, storage.get_trial(trial._trial_id))
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker on this machine got there first
    optuna.storages.fail_stale_trials(study)
    return failed


def _storage(study):
    # The study's own storage object (Optuna wraps the RDB storage in a cache): changes made through it are
    # seen by the study's next reads. Optuna's own optimize loop uses it the same way.
    return study._storage


@contextlib.contextmanager
def heartbeat(study, trial):
    """Records the trial's heartbeat every `HEARTBEAT_INTERVAL` seconds while the block runs."""
    storage = _storage(study)
    stop = threading.Event()

    def beat():
        while True:
            storage.record_heartbeat(trial._trial_id)
            if stop.wait(HEARTBEAT_INTERVAL):
                return

    thread = threading.Thread(target=beat, name=f"kspec-heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
