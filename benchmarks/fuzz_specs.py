"""Grammar-based fuzzing of `--set` overrides over every path of every shipped spec.

Each case takes one spec of `specs/`, one to three `--set KEY=VALUE` overrides drawn from a grammar (a path
of that spec, or a new key below one, and a value of every kind: `${}` expressions yielding each type the
evaluator can make, YAML literals, control characters, lists where scalars go and the reverse, mappings,
long text), and runs load -> validate and, for a deterministic subset, the Keras build. A case passes when
it ends normally or with `SpecError`; anything else is a finding, grouped by its signature (exception type
and the innermost kspec frame).

Run the long campaign (the CI test `tests/builder/test_fuzz.py` runs a few hundred cases of this grammar):

    nice -n 10 python benchmarks/fuzz_specs.py --cases 100000 [--build-every 500] [--seed 0]
"""

import argparse
import os
import random
import sys
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS_DIR = os.path.join(REPO, "specs")
SPEC_FILES = sorted(os.path.join(SPECS_DIR, f) for f in os.listdir(SPECS_DIR) if f.endswith(".yaml"))

# Expressions, each yielding one kind of value the evaluator can produce (or refuse).
EXPRESSIONS = [
    '"x"', '"relu"', '"sigmoid"', '""', "0", "1", "-1", "2", "3", "7", "64", "2**40", "10**15", "10**16",
    "1.5", "0.5", "-0.0", "1e308", "1e-320", "true", "false", "null", "[1]", "[1, 2]", "[1, 2, 3]",
    "[[1], [2]]", '["a", "b"]', "[]", "[null]", "[true]", "[1.5, 2]", "(-1)**0.5", "9**9**9", "1/0",
    'float("inf")', 'float("nan")', "int(1e300)", "sqrt(-1)", "undefined_name", "min([])", "[1]*3",
    '"a" + "b"', "len([1, 2])", "round(2.5)", "ceil(0.1)", "floor(-0.5)", "log2(0)", "2**-1",
    '"${x}"', '"%s" % 1', "x.y", "__import__", "(1, 2)", "[1, [2, [3, [4]]]]", "abs(-3)",
    "max(1, 2.5)", "1 if true else \"a\"", "not 1", "1 < \"a\"",
]
# YAML literals of every kind, including what a scalar place should never get.
LITERALS = [
    "0", "1", "-1", "2", "3", "8", "28", "64", "1000000", "99999999999999999999", "1.5", "0.0", "-2.5",
    "1e400", ".inf", "-.inf", ".nan", "true", "false", "null", "~", '""', "x", "relu", "sigmoid", "softmax",
    "same", "valid", "adam", "mse", "gan", "vae", "aae", "supervised", "previous", "image", "z", "x",
    "[]", "[1]", "[1, 2]", "[28, 28, 1]", "[null, 4]", "[[1, 2], [3]]", "[a, b]", "[x, y, z]", "{}",
    "{a: 1}", "{dense: {units: 2}}", "{units: 3}", "{relu: {}}", "{random_normal: {stddev: 0.02}}",
    "{adam: {learning_rate: 0.1}}", "{l2: {l2: 0.01}}", "{name: x}", "{gan: {n_critic: 0}}",
    "[{dense: {units: 2}}]", "[{repeat: 2, layers: [{dense: {units: 2}}]}]", "2026-01-01",
    '"\\x07"', '"\\0"', '"a\\nb"', '"\\t"', '"\\u2028"', "'quoted'", "&a x", "*a", "!!str 1",
    "!!python/name:os.system", "!!binary aGVsbG8=", "!custom x", "[1, 2", "{a: 1", "a: b: c", "- x",
    "\ttab", "\x07", "\x00", "\x1b[31mred", "\u2028", "a\x7fb", "0x10", "0o17", "1_000", "+1", "yes", "no",
]


def spec_paths(document, prefix=""):
    """Every (override key, value) below a loaded document, naming list items by their `name` when they have one."""
    yield prefix, document
    if isinstance(document, dict):
        for key, value in document.items():
            yield from spec_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            name = item.get("name") if isinstance(item, dict) else None
            selector = f"[{name}]" if isinstance(name, str) and "${" not in name and name else f"[{index}]"
            yield from spec_paths(item, prefix + selector)


def load_grammar():
    """Per spec file: its (override key, current value) pairs, and the names worth reusing as values."""
    import yaml

    grammar = {}
    for path in SPEC_FILES:
        with open(path, encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
        places = [(key, value) for key, value in spec_paths(document) if key]
        words = sorted({key.rsplit(".", 1)[-1].split("[")[-1].rstrip("]") for key, _ in places}
                       | {value for _, value in places if isinstance(value, str) and "${" not in value})
        params = sorted(document.get("params") or {})
        grammar[path] = (places, words, params)
    return grammar


def draw_plausible(rng, current, words, params):
    """A value of the kind already at a place (a nearby number, another name, a param): what passes the
    schema and reaches the later checks and the build."""
    if isinstance(current, bool):
        return rng.choice(["true", "false", "${not true}"])
    if isinstance(current, int):
        number = rng.choice([0, 1, 2, 3, 5, 16, 64, 4096, -1, current * 2, current + 1, max(current // 2, 1)])
        return rng.choice([str(number), f"${{{number}}}", f"${{{rng.choice(params or ['1'])} * {number}}}",
                           f"${{{number} / 2}}", f"${{[{number}, {number}]}}"])
    if isinstance(current, float):
        return rng.choice(["0.0", "0.5", "0.999", "1.0", "2.0", "-0.1", "1e-9", "1e9", "${0.1 * 3}", "${1 / 3}"])
    if isinstance(current, str):
        if "${" in current:
            return rng.choice([f"${{{p}}}" for p in params] + [current.replace("}", " + 1}"), current.replace("}", " * 0}"),
                                                              current.replace("}", " // 3}"), current.replace("${", "${-")])
        return rng.choice(words)
    if isinstance(current, list):
        items = list(current)
        rng.shuffle(items)
        cut = items[: rng.randint(0, len(items))]
        return "[" + ", ".join(str(i) if not isinstance(i, (dict, list)) else "{}" for i in cut) + "]"
    return draw_value(rng, words)


def draw_value(rng, words):
    """One `--set` value text of any kind."""
    kind = rng.random()
    if kind < 0.35:
        expression = rng.choice(EXPRESSIONS + words)
        return f"${{{expression}}}" if rng.random() < 0.85 else f"pre${{{expression}}}post"
    if kind < 0.75:
        return rng.choice(LITERALS)
    if kind < 0.85:
        return rng.choice(words)
    if kind < 0.9:
        return "[" + ", ".join(draw_value(rng, words) for _ in range(rng.randint(0, 3))) + "]"
    if kind < 0.95:
        return "{" + rng.choice(words) + ": " + draw_value(rng, words) + "}"
    return rng.choice(["x" * rng.choice([1000, 10_000, 200_000]), '"' + "${1}" * 300 + '"', "[" * 100 + "]" * 100])


# Plausible values of the catalog's argument types, to put any catalog layer in place of a node.
_ARGUMENT_VALUES = {"positive_int": "2", "positive_ints": "2", "int": "1", "int_or_ints": "-1", "ints": "[1]",
                    "shape": "[2, -1]", "number": "0.5", "fraction": "0.1", "bool": "true", "str": "x",
                    "activation": "relu", "initializer": "zeros", "regularizer": "l2", "constraint": "max_norm",
                    "layer": "{lstm: {units: 2}}"}


def draw_catalog_layer(rng):
    """`{layer: {its required arguments}}` for a random layer of the Keras catalog."""
    from kspec.builder.keras_catalog import load_table

    entry = rng.choice(list(load_table()["layers"].values()))
    required = [(name, spec["type"]) for name, spec in entry["arguments"].items() if spec.get("required")]
    args = ", ".join(f"{name}: {_ARGUMENT_VALUES.get(kind, '1')}" for name, kind in required)
    return f"{{{entry['name']}: {{{args}}}}}"


def draw_case(rng, grammar):
    """(spec file, overrides) for one case."""
    spec = rng.choice(SPEC_FILES)
    places, words, params = grammar[spec]
    overrides = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        key, current = rng.choice(places)
        roll = rng.random()
        if roll < 0.05 and isinstance(current, dict) and key.endswith("]"):
            named = f"name: {current['name']}, " if isinstance(current.get("name"), str) else ""
            layer = draw_catalog_layer(rng)
            overrides.append(f"{key}={{{named}{layer[1:]}" if named else f"{key}={layer}")
            continue
        if roll < 0.5:
            overrides.append(f"{key}={draw_plausible(rng, current, words, params)}")
            continue
        if roll < 0.58:
            key = f"{key}.{rng.choice(words + ['bogus', 'name', 'from', 'extends'])}"
        elif roll < 0.6:
            key = rng.choice(["extends", "kspec", "params.nope", "training.nope", "models.new.inputs.x", "",
                              "models..x", "models[0]", "models.x[bad", f"{key}[-1]", f"{key}[99]"])
        overrides.append(f"{key}={draw_value(rng, words)}")
    return spec, overrides


def signature(error):
    """The exception type and the innermost frame inside kspec (outside the virtual environment)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(REPO) and f"{os.sep}.venv{os.sep}" not in f.filename]
    where = f"{os.path.relpath(frames[-1].filename, REPO)}:{frames[-1].lineno} {frames[-1].name}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def run_case(spec, overrides, build):
    """(outcome, error): outcome is "refused", "valid" or "built"; error is None unless the case is a finding.

    `build()` says, once the spec is valid, whether to build it too.
    """
    from kspec import builder
    from kspec.errors import SpecError

    outcome = "refused"
    try:
        resolved = builder.load_spec(spec, overrides)
        outcome = "valid"
        if build():
            import keras

            try:
                builder.build(resolved)
                outcome = "built"
            finally:
                keras.backend.clear_session()
    except SpecError as error:
        if not error.problems or any("\n" in str(p) for p in error.problems):
            return outcome, AssertionError(f"a SpecError must print one line per problem: {error.problems!r}")
    except Exception as error:  # noqa: BLE001 (anything else is the finding)
        return outcome, error
    return outcome, None


def campaign(cases, seed=0, build_every=0, report_every=0):
    """Runs `cases` cases; returns (findings: {signature: (count, example)}, seconds, outcomes).

    `outcomes` counts how far the cases went: refused by validate, valid, and (of those built) built.
    """
    grammar = load_grammar()
    rng = random.Random(seed)
    findings, outcomes = {}, {"refused": 0, "valid": 0, "built": 0, "build tried": 0}
    start = time.perf_counter()
    for number in range(cases):
        spec, overrides = draw_case(rng, grammar)
        valid_so_far = outcomes["valid"] + outcomes["built"]
        outcome, error = run_case(spec, overrides, lambda: bool(build_every) and valid_so_far % build_every == 0)
        outcomes[outcome] += 1
        outcomes["build tried"] += bool(build_every) and outcome != "refused" and valid_so_far % build_every == 0
        if error is not None:
            key = signature(error)
            if key not in findings:
                print(f"  new finding: {key}: {os.path.basename(spec)} {overrides!r}: {error!r}"[:500], file=sys.stderr,
                      flush=True)
            count, example = findings.get(key, (0, None))
            findings[key] = (count + 1, example or (os.path.relpath(spec, REPO), overrides, repr(error)[:300]))
        if report_every and (number + 1) % report_every == 0:
            elapsed = time.perf_counter() - start
            print(f"  {number + 1} cases, {sum(c for c, _ in findings.values())} uncaught, "
                  f"{(number + 1) / elapsed:.0f} cases/s", file=sys.stderr, flush=True)
    return findings, time.perf_counter() - start, outcomes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-every", type=int, default=0, help="also build every Nth valid case (imports Keras)")
    args = parser.parse_args(argv)
    findings, seconds, outcomes = campaign(args.cases, args.seed, args.build_every,
                                           report_every=max(args.cases // 20, 1))
    uncaught = sum(count for count, _ in findings.values())
    print(f"cases: {args.cases} (seed {args.seed})  uncaught: {uncaught}  distinct signatures: {len(findings)}  "
          f"{args.cases / seconds:.1f} cases/s ({seconds:.0f} s)")
    print(f"refused by validate: {outcomes['refused']}, valid: {outcomes['valid'] + outcomes['built']}; "
          f"build tried on {outcomes['build tried']} valid cases, built: {outcomes['built']}")
    for key, (count, (spec, overrides, error)) in sorted(findings.items(), key=lambda item: -item[1][0]):
        print(f"{count:7d}  {key}\n         e.g. {spec} --set {' --set '.join(repr(o) for o in overrides)}\n"
              f"         {error}")
    return 1 if uncaught else 0


if __name__ == "__main__":
    sys.exit(main())
