"""TensorFlow's, absl's and oneDNN's log lines stay hidden unless `kspec --verbose` asks for them."""

import os
import re
import subprocess
import sys

import pytest
from support import SPECS_DIR

CNN = os.path.join(SPECS_DIR, "cnn_classifier.yaml")
# absl's C++ log prefix (`I0000 00:00:1795441128.040054   12589 cpu_feature_guard.cc:227] ...`), the note absl
# prints before its first such line, and the Python-side absl and TensorFlow loggers.
NOISE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|^(WARNING|INFO|ERROR):(absl|tensorflow):|oneDNN|remapper")


def kspec(*args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the test suite quiets it itself
    return subprocess.run([sys.executable, "-m", "kspec.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.slow
def test_a_train_run_prints_no_tensorflow_log_lines(tmp_path):
    result = kspec("train", CNN, "--out", tmp_path / "run", "--set", "training.epochs=1",
                   "--set", "training.steps_per_epoch=2", "--set", "data.args.limit=100")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if NOISE.search(line)] == []


@pytest.mark.slow
def test_verbose_shows_them():
    result = kspec("--verbose", "summary", CNN)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if NOISE.search(line)] != []
