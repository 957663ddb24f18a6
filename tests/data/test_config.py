"""The `data:` section's own fields are checked before any data is read."""

import pytest

import kspec.data  # noqa: F401  (registers the sources)
from kspec.data.config import parse_data_config
from kspec.errors import SpecError


@pytest.mark.parametrize("config, message", [
    ({"source": "digit"},
     "data.source: unknown data source `digit` (did you mean `digits`?); known sources: cifar10, csv, digit_domains, digits, "
     "fashion_mnist, image_directory, mnist, npz, ring, shapes, sine_series"),
    ({"sorce": "digits"},
     "data.sorce: unknown field `sorce` (did you mean `source`?); `data:` takes `source`, `args`, "
     "`validation_split`, `normalize`, `batch_size`, `shuffle`, `seed`, `drop_remainder`"),
    ({"args": {}},
     "data: `source:` is required: the name of a data source, one of cifar10, csv, digit_domains, digits, fashion_mnist, "
     "image_directory, mnist, npz, ring, shapes, sine_series"),
    ({"source": "digits", "validation_split": 1},
     "data.validation_split: expected a number in [0, 1). Received: validation_split=1"),
    ({"source": "digits", "normalize": "zscore"},
     "data.normalize: expected one of 'unit', 'symmetric', 'standardize', 'none'. Received: normalize='zscore'"),
    ({"source": "digits", "batch_size": 0}, "data.batch_size: expected a positive integer. Received: batch_size=0"),
    ({"source": "digits", "shuffle": "yes"}, "data.shuffle: expected true or false. Received: shuffle='yes'"),
    ({"source": "digits", "seed": -1}, "data.seed: expected a non-negative integer. Received: seed=-1"),
    ({"source": "digits", "args": [28]},
     "data.args: expected a mapping of argument names to values. Received: args=[28]"),
    ("digits", "data: expected a mapping with at least `source:`. Received: data='digits'"),
])
def test_wrong_field_is_named_with_whole_message(config, message):
    with pytest.raises(SpecError) as caught:
        parse_data_config(config)
    assert str(caught.value) == message


def test_defaults_leave_batch_size_and_seed_to_the_trainer():
    config = parse_data_config({"source": "digits"})
    assert (config.args, config.validation_split, config.normalize, config.batch_size, config.shuffle,
            config.seed, config.drop_remainder) == ({}, 0.2, None, None, True, None, False)


def test_importing_kspec_data_and_checking_config_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, kspec.data; kspec.data.parse_data_config({'source': 'shapes'}); "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
