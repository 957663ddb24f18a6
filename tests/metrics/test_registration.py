"""`import kspec.metrics` registers the metric callbacks by name without importing Keras."""

import subprocess
import sys


def test_registering_the_metrics_does_not_import_keras():
    code = (
        "import sys, kspec.metrics, kspec.metrics.evaluation\n"
        "from kspec.registry import METRICS\n"
        "print(METRICS.names(), 'keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == (
        "['coverage', 'density', 'fid', 'inception_score', 'kid', 'precision', 'recall'] False False")
