"""Property-based: mutated reference specs either build or fail with kspec's own error, never anything else.

CI runs a few reproducible examples (the `ci` Hypothesis profile of tests/conftest.py); a large run is
`KSPEC_HYPOTHESIS_PROFILE=long python -m pytest tests/builder/test_fuzz.py` (or `KSPEC_FUZZ_EXAMPLES=N`), and
the long `--set` campaign is `benchmarks/fuzz_specs.py --cases 100000` (its grammar is the one tested here).
"""

import importlib.util
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import REPO, SPEC_FILES, SPECS_DIR

from kspec import builder
from kspec.errors import SpecError

EXAMPLES = int(os.environ.get("KSPEC_FUZZ_EXAMPLES", settings.default.max_examples))
BUILD = os.environ.get("KSPEC_FUZZ_BUILD", "1") == "1"
TEXTS = {name: open(os.path.join(SPECS_DIR, name)).read() for name in SPEC_FILES}
OTHER_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True), st.text(max_size=12),
    st.just("${9 ** 9 ** 9}"), st.just("${undefined}"), st.just("nowhere"), st.lists(st.integers(-1, 64), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


def paths(value, prefix=()):
    """Every (path, value) pair below a plain YAML value."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def parent_of(document, path):
    node = document
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_specs(draw):
    name = draw(st.sampled_from(SPEC_FILES))
    text = TEXTS[name]
    kind = draw(st.sampled_from(["delete", "duplicate", "rename", "retype", "reference", "truncate"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    document = yaml.safe_load(text)
    places = [p for p, _ in paths(document) if p]
    path = draw(st.sampled_from(places))
    parent, key = parent_of(document, path), path[-1]
    if kind == "delete":
        del parent[key]
    elif kind == "duplicate":
        if isinstance(parent, list):
            parent.insert(key, parent[key])
        else:
            parent[f"{key}_copy"] = parent[key]
    elif kind == "rename" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(key)
    elif kind == "reference":
        parent[key] = draw(st.sampled_from(["previous", "missing_node", "down9", "z", "image"]))
    else:
        parent[key] = draw(OTHER_VALUES)
    return yaml.safe_dump(document, sort_keys=False)


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(text=mutated_specs())
def test_mutated_spec_builds_or_fails_with_spec_error(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_text(text)
    try:
        spec = builder.load_spec(str(path))
        if BUILD:
            builder.build(spec)
    except SpecError as error:
        assert error.problems and all(str(p) for p in error.problems)
    finally:
        if BUILD:
            import keras

            keras.backend.clear_session()


@pytest.mark.parametrize("spec_file", SPEC_FILES)
def test_every_truncation_point_of_a_spec_fails_cleanly_or_loads(spec_file, tmp_path):
    text, path = TEXTS[spec_file], tmp_path / "spec.yaml"
    for end in range(0, len(text), max(1, len(text) // 60)):
        path.write_text(text[:end])
        try:
            builder.load_spec(str(path))
        except SpecError:
            pass


def _override_grammar():
    spec = importlib.util.spec_from_file_location("fuzz_specs", os.path.join(REPO, "benchmarks", "fuzz_specs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_overrides_drawn_from_the_grammar_end_normally_or_with_a_spec_error():
    fuzz = _override_grammar()
    findings, _, outcomes = fuzz.campaign(cases=400, seed=20260101, build_every=15 if BUILD else 0)
    assert findings == {}
    # The grammar must reach past the schema: some cases are valid, and some of those are built.
    assert outcomes["valid"] + outcomes["built"] >= 20
    assert not BUILD or outcomes["built"] >= 2
