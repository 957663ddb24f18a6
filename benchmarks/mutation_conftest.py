"""Copied by benchmarks/mutation.sh to the root of each stage: makes mutmut's trampolines show their signature.

mutmut replaces each mutated function by a `(*args, **kwargs)` trampoline. `inspect.getfullargspec`, which
Keras' `Operation.__new__` reads to record a layer's constructor arguments, does not follow `__wrapped__`, so
every kspec layer whose `__init__` is mutated fails to construct; it does honour `__signature__`.
"""

import inspect

from mutmut.mutation import trampoline

_wrap_in_trampoline = trampoline.wrap_in_trampoline


def _wrap_with_signature(mutants_dict, is_classmethod=False):
    decorate = _wrap_in_trampoline(mutants_dict, is_classmethod)

    def decorate_with_signature(function):
        wrapped = decorate(function)
        wrapped.__signature__ = inspect.signature(function)
        return wrapped

    return decorate_with_signature


trampoline.wrap_in_trampoline = _wrap_with_signature
