"""Round trip of every `keras.applications` model through `kspec import` (weights=None; nothing downloaded).

For each model: build it, import it as a spec, validate the spec (static shapes compared with Keras' node
by node), build the spec, compare parameter counts and layer configs, copy the weights by order and compare
outputs on the same random batch. Prints one table row per model and one line per model that cannot
round-trip, with the reason.

Run: nice -n 10 python benchmarks/import_roundtrip.py [NAME ...] [--input-size 96]
"""

import argparse
import os
import sys
import tempfile
import time

# Input sizes the applications accept at their smallest (NASNet and Inception need more than 96).
MINIMUM_SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71, "NASNetMobile": 224,
                "NASNetLarge": 331}


def static_agreement(spec_path, model):
    """(nodes whose static shape equals Keras', nodes compared, nodes unchecked) for the spec's last model."""
    from kspec import builder

    spec = builder.load_spec(spec_path)
    name = list(spec.models)[-1]
    shapes = spec.shapes[name]
    agreed = compared = 0
    for node in spec.models[name].nodes:
        if node.name in shapes.unchecked:
            continue
        compared += 1
        output = model.get_layer(node.name).output
        keras_shape = [tuple(t.shape) for t in output] if isinstance(output, (list, tuple)) else tuple(output.shape)
        agreed += shapes.shapes[node.name] == keras_shape
    return agreed, compared, len(shapes.unchecked)


def round_trip(name, size):
    import keras

    from kspec.builder.keras_import import compare_round_trip, load_source, spec_from_model, write_spec
    from kspec.errors import SpecError

    keras.backend.clear_session()
    shape = None if size is None else (max(size, MINIMUM_SIZE.get(name, 0)),) * 2 + (3,)
    if name in ("NASNetMobile", "NASNetLarge") and size is not None:
        shape = None  # NASNet builds only at its default size with weights=None and include_top
    start = time.perf_counter()
    source = load_source(f"keras.applications.{name}", input_shape=shape)
    try:
        document = spec_from_model(source)
    except SpecError as error:
        return {"name": name, "error": str(error.problems[0].message)}
    with tempfile.TemporaryDirectory() as directory:
        path = write_spec(document, os.path.join(directory, f"{name}.yaml"), f"keras.applications.{name}")
        try:
            report = compare_round_trip(source, path)
            from kspec import builder

            report["static"] = static_agreement(path, builder.build(path)[list(document["models"])[-1]])
        except SpecError as error:
            return {"name": name, "error": str(error.problems[0])}
    report.update(name=name, input=shape or tuple(source.input_shape[1:]), seconds=time.perf_counter() - start)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="application names (default: all of keras.applications)")
    parser.add_argument("--input-size", type=int, default=96,
                        help="square input size where the application allows it (0: its default)")
    arguments = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kspec.builder.keras_import import application_names

    names = arguments.names or application_names()
    print("| model | input | parameters | layers (source / spec) | configs equal | outputs identical "
          "| static shapes | s |")
    print("| --- | --- | ---: | --- | --- | --- | --- | ---: |")
    failures = []
    for name in names:
        report = round_trip(name, arguments.input_size or None)
        if "error" in report:
            failures.append(f"{name}: {report['error']}")
            print(f"| {name} | | | | | cannot round-trip (below) | | |", flush=True)
            continue
        source, spec = report["parameters"]
        agreed, compared, unchecked = report["static"]
        print(f"| {name} | {'x'.join(map(str, report['input']))} | {source:,}"
              f"{'' if source == spec else f' (spec {spec:,})'} | {report['layers'][0]} / {report['layers'][1]} "
              f"| {'yes' if not report['configs_differ'] else 'no: ' + ', '.join(report['configs_differ'][:3])} "
              f"| {'yes' if report['outputs_identical'] is True else report['outputs_identical'] or 'no'} "
              f"| {agreed}/{compared} agree{f', {unchecked} unchecked' if unchecked else ''} "
              f"| {report['seconds']:.0f} |", flush=True)
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
