"""Every `Example:` in kspec's docstrings runs and prints what it says, in every module of the package.

Modules are found on disk (every .py under the package directories), so a new module is covered without
being listed here. Examples that need a trained run or a download are marked `# doctest: +SKIP`; they are
counted separately, and the counts below are floors: if the finder silently collected nothing (docstrings
stripped by `python -OO`, a module no longer found), the count test fails instead of passing empty.
"""

import doctest
import importlib
import os

import pytest

import kspec

PACKAGE = os.path.dirname(os.path.abspath(kspec.__file__))

# Floors, at the counts of the code as it stands: raise them as examples are added; lowering one means
# examples were removed, which a reviewer should see.
MIN_EXAMPLES_RUN = 215
MIN_MODULES_WITH_EXAMPLES = 41
MAX_EXAMPLES_SKIPPED = 4  # need a trained run or downloaded weights/data; keep them few

FLAGS = doctest.ELLIPSIS


def package_modules():
    """Dotted names of kspec's modules: the .py files in directories that are packages, from the root down."""
    names = []
    for directory, subdirectories, files in os.walk(PACKAGE):
        relative = os.path.relpath(directory, PACKAGE)
        parts = [] if relative == "." else relative.split(os.sep)
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            subdirectories.clear()  # not a package: neither is anything below it (tests/, benchmarks/, .venv/)
            continue
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for file in sorted(files):
            if file.endswith(".py") and file != "__main__.py":
                stem = file[:-3]
                names.append(".".join(["kspec", *parts] + ([] if stem == "__init__" else [stem])))
    return names


MODULES = package_modules()


def examples(module):
    """(run, skipped) example counts of `module`'s own docstrings."""
    run = skipped = 0
    for test in doctest.DocTestFinder().find(module):
        for example in test.examples:
            if example.options.get(doctest.SKIP):
                skipped += 1
            else:
                run += 1
    return run, skipped


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, tmp_path, monkeypatch):
    # In an empty directory, so examples that write files leave nothing behind; paths to shipped specs are
    # absolute in the examples that need them.
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (output above)"


def test_the_doctest_run_collects_the_examples_of_the_whole_package():
    counts = {name: examples(importlib.import_module(name)) for name in MODULES}
    run = sum(r for r, _ in counts.values())
    skipped = sum(s for _, s in counts.values())
    with_examples = sum(1 for r, _ in counts.values() if r)
    assert "kspec.metrics.frechet" in MODULES and "kspec.builder.expressions" in MODULES
    assert run >= MIN_EXAMPLES_RUN, f"only {run} examples found; expected at least {MIN_EXAMPLES_RUN}"
    assert with_examples >= MIN_MODULES_WITH_EXAMPLES, (
        f"only {with_examples} modules have examples; expected at least {MIN_MODULES_WITH_EXAMPLES}")
    assert skipped <= MAX_EXAMPLES_SKIPPED, f"{skipped} examples are skipped; at most {MAX_EXAMPLES_SKIPPED} may be"
