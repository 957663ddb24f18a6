"""Hides TensorFlow's, absl's and oneDNN's log lines unless the user asks for them (`kspec --verbose`).

TensorFlow's C++ core logs through absl at start-up (oneDNN custom operations, CPU instruction sets) and
while running graphs (grappler's "remapper failed" errors during GAN training); Keras and TensorFlow log
Python-side warnings through absl's Python logger. These drown kspec's own output and are not the user's
problem. The C++ log level is read from the environment once, when TensorFlow is first imported, so it is set
before that (`hide_native_logs`, cheap); absl's Python logger exists only once absl is imported, which costs
tens of milliseconds, so commands that import TensorFlow anyway set it (`hide_absl_logs`). Values the user
set in the environment are kept.
"""

import logging
import os


def hide_native_logs(verbose=False):
    """Sets TensorFlow's C++ log level (3 hides INFO, WARNING and ERROR lines; 0 shows all) for this process.

    Call before TensorFlow is imported; the `tensorflow` Python logger follows the same choice.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    logging.getLogger("tensorflow").setLevel(logging.INFO if verbose else logging.ERROR)


def hide_absl_logs(verbose=False):
    """Shows absl's Python log lines from ERROR on (everything with `verbose`)."""
    try:
        from absl import logging as absl_logging  # installed with TensorFlow
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)
