"""Copied by benchmarks/mutation.sh to the root of each stage: two corrections to how mutmut meets kspec's tests.

1. mutmut replaces each mutated function by a `(*args, **kwargs)` trampoline. `inspect.getfullargspec`, which
   Keras' `Operation.__new__` reads to record a layer's constructor arguments, does not follow `__wrapped__`,
   so every kspec layer whose `__init__` is mutated fails to construct; it does honour `__signature__`.
   Only `__init__` gets one: Keras wraps a layer's bound `build` with functools.wraps, which copies the
   function's `__dict__`, so a `__signature__` there would keep `self` in build's signature and fail Keras'
   check of build's arguments; `inspect.signature` finds the rest through `__wrapped__`.
2. mutmut runs against each mutant only the tests that called the mutated function in a first, recording
   run. A module- or session-scoped fixture calls it once, in the setup of the first test that uses it: the
   other tests that read the fixture's result would not be run against the mutant (a variance test that
   reads shared draws). Here every test is also credited with what the earlier tests of its file called.

Keras (with TensorFlow) is imported here, once, in the process mutmut's workers fork from: a test that imports
it inside its body (test_checks.py's constructor test, in the resolver's selection) would otherwise pay the
import, about 5 s, for every mutant it runs against.
"""

import inspect

import keras  # noqa: F401  (see above)
import pytest
from mutmut.mutation import trampoline
from mutmut.state import state

_wrap_in_trampoline = trampoline.wrap_in_trampoline


def _wrap_with_signature(mutants_dict, is_classmethod=False):
    decorate = _wrap_in_trampoline(mutants_dict, is_classmethod)

    def decorate_with_signature(function):
        wrapped = decorate(function)
        if function.__name__ == "__init__":
            wrapped.__signature__ = inspect.signature(function)
        return wrapped

    return decorate_with_signature


trampoline.wrap_in_trampoline = _wrap_with_signature


_called_in_file = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    # Runs before mutmut's recorder (its own teardown hook), which credits this test with `state()._stats`.
    called = state()._stats
    so_far = _called_in_file.setdefault(item.path, set())
    so_far |= called
    called |= so_far
