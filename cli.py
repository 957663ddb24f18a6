"""The `kspec` command line: parse, call the Python API, print. Spec problems exit 1 with one line each."""

import functools
import os
import sys

import click

from kspec.errors import SpecError

_SET_HELP = "Override a spec value, e.g. --set params.latent_dim=8 (repeatable; value parsed as YAML)."
_IMPORT_HELP = "Allow importing user layers from MODULE listed in the spec's `imports:` (repeatable)."


def _spec_options(command):
    command = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)(command)
    return click.option("--allow-import", "allow_imports", multiple=True, metavar="MODULE", help=_IMPORT_HELP)(command)


def _reports_spec_errors(command):
    """Prints a `SpecError` as one line per problem on stderr and exits 1; anything else is a kspec bug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SpecError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kspec")
def main():
    """kspec: declarative YAML specs for Keras 3 models."""
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) drowns kspec's own output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--grid", multiple=True, metavar="KEY=V1,V2,...",
              help="Validate every combination of these values (repeatable; a table of parameters and problems).")
@_spec_options
def validate(specs, grid, overrides, allow_imports):
    """Check SPECS (schema, names, references, arguments, shapes, parameter counts) without importing TensorFlow.

    Exit 1 on problems. Nodes whose shapes cannot be known statically are listed as notes.
    """
    from kspec.builder import load_spec
    from kspec.builder.shapes import shape_notes

    if grid:
        _validate_grid(specs, grid, overrides, allow_imports)
        return
    failed = False
    for spec in specs:
        try:
            resolved = load_spec(spec, overrides, allow_imports)
        except SpecError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            failed = True
            continue
        for note in shape_notes(resolved):
            click.echo(note, err=True)
    if failed:
        sys.exit(1)
    click.echo(f"{len(specs)} spec{'s' if len(specs) != 1 else ''} valid")


def _validate_grid(specs, grid, overrides, allow_imports):
    from kspec.builder.grid import format_grid, validate_grid

    try:
        tables = [(spec, validate_grid(spec, grid, overrides, allow_imports)) for spec in specs]
    except SpecError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    for spec, rows in tables:
        click.echo(format_grid(spec, grid, rows))
    if any(row.problem for _, rows in tables for row in rows):
        sys.exit(1)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--plot", type=click.Path(dir_okay=False), help="Also draw the graph of each model to PLOT (needs pydot and graphviz).")
@_spec_options
@_reports_spec_errors
def summary(spec, plot, overrides, allow_imports):
    """Build SPEC and print each model's layers, output shapes and parameter counts."""
    from kspec.builder import build, load_spec
    from kspec.builder.summary import format_summary, plot_models

    resolved = load_spec(spec, overrides, allow_imports)
    models = build(resolved)
    click.echo(format_summary(resolved, models))
    if plot:
        for path in plot_models(models, plot):
            click.echo(f"graph written to {path}")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="A .keras file (one model), or a directory for all.")
@click.option("--model", "model_name", help="Which model of the spec to save (default: the only one, or all into a directory).")
@_spec_options
@_reports_spec_errors
def build(spec, output, model_name, overrides, allow_imports):
    """Build SPEC and save its model(s) in the Keras format (reload with keras.saving.load_model after `import kspec`)."""
    from kspec.builder import build as build_models
    from kspec.builder import load_spec
    from kspec.builder.save import save_models

    models = build_models(load_spec(spec, overrides, allow_imports))
    for path in save_models(models, output, model_name):
        click.echo(f"saved {path}")


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default: runs/<spec>-<time>).")
@click.option("--resume", type=click.Path(file_okay=False), help="Continue the run in this directory from its last checkpoint.")
@_spec_options
@_reports_spec_errors
def train(spec, out, resume, overrides, allow_imports):
    """Train SPEC on the data its `data:` section names; write a run directory (spec, metrics, checkpoints, logs)."""
    from kspec.training.train import train as run_training

    run = run_training(spec, overrides=overrides, allow_imports=allow_imports, out=out, resume=resume)
    click.echo(f"run directory: {run.path} (metrics.csv, checkpoints/, samples/ of generative runs, logs/ for TensorBoard)")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--model", "model_name", help="Which model of the run to export (default: the trained one).")
@click.option("--format", "export_format", type=click.Choice(["saved_model", "onnx", "litert"]), default="saved_model",
              show_default=True, help="Export format.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True,
              help="Which checkpoint's weights to export.")
@click.option("-o", "--output", required=True, type=click.Path(), help="Export directory (replaced atomically).")
@_reports_spec_errors
def export(run_dir, model_name, export_format, checkpoint, output):
    """Export a trained model of RUN_DIR, e.g. as a SavedModel that plain TensorFlow loads and serves."""
    from kspec.training.exporting import export_run

    path = export_run(run_dir, output, model_name=model_name, export_format=export_format, checkpoint=checkpoint)
    click.echo(f"exported to {path}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-n", "count", type=click.IntRange(min=1), default=64, show_default=True, help="Number of images.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent draw (same seed, same grid).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_reports_spec_errors
def sample(run_dir, count, output, seed, checkpoint):
    """Write a PNG grid of images generated by the trained VAE, GAN or AAE in RUN_DIR."""
    from kspec.training.sampling import sample_grid

    click.echo(f"wrote {sample_grid(run_dir, count, output, seed=seed, checkpoint=checkpoint)}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True, help="Images along the line.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed choosing the two ends.")
@click.option("--from-data", is_flag=True, help="Use the codes of two validation images as the ends (VAE, AAE).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_reports_spec_errors
def interpolate(run_dir, steps, output, seed, from_data, checkpoint):
    """Write a PNG row decoding the line between two latents of the trained run in RUN_DIR."""
    from kspec.training.sampling import interpolation_grid

    path = interpolation_grid(run_dir, steps, output, seed=seed, from_data=from_data, checkpoint=checkpoint)
    click.echo(f"wrote {path}")


def _extractor_options(extractor_run, layer, name, inception_weights):
    if inception_weights:
        return {"inception": inception_weights}
    if extractor_run:
        return {"run": extractor_run, "layer": layer, "name": name}
    return None


_METRIC_NAMES = {"fid": "fid", "is": "inception_score", "inception_score": "inception_score", "kid": "kid"}


def _extractor_flags(command):
    for option in reversed([
        click.option("--extractor-run", type=click.Path(file_okay=False), help="A classifier run of kspec used as feature extractor."),
        click.option("--layer", help="Layer of that classifier whose output are the features."),
        click.option("--name", help="Extractor name in score labels (fd_NAME); default the run directory's name."),
        click.option("--inception-weights", type=click.Path(dir_okay=False), help="Local InceptionV3 weights file instead."),
    ]):
        command = option(command)
    return command


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--metrics", default="fid", show_default=True, help="Comma-separated: fid, is, kid.")
@click.option("--samples", type=click.IntRange(min=2), default=1000, show_default=True, help="Generated images scored.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_extractor_flags
@_reports_spec_errors
def evaluate(run_dir, metrics, samples, seed, checkpoint, extractor_run, layer, name, inception_weights):
    """Score a generative run's samples against its training data (FID, Inception Score, KID)."""
    from kspec.training.evaluation import evaluate_run

    names = []
    for metric in filter(None, (m.strip() for m in metrics.split(","))):
        if metric not in _METRIC_NAMES:
            raise SpecError(f"expected any of fid, is, kid. Received: {metric!r}", path="--metrics")
        names.append(_METRIC_NAMES[metric])
    scores = evaluate_run(run_dir, names, samples, _extractor_options(extractor_run, layer, name, inception_weights),
                          seed=seed, checkpoint=checkpoint)
    for score in scores.values():
        click.echo(str(score))


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=".npz file for mu, sigma, N.")
@_extractor_flags
@_reports_spec_errors
def stats(spec, output, extractor_run, layer, name, inception_weights):
    """Compute feature statistics of SPEC's training data once, for FIDs against them later."""
    from kspec.training.evaluation import dataset_statistics

    options = _extractor_options(extractor_run, layer, name, inception_weights)
    if options is None:
        raise SpecError("give --extractor-run RUN --layer LAYER, or --inception-weights FILE", path="--extractor-run")
    statistics = dataset_statistics(spec, options, output)
    click.echo(f"wrote {output} (N={statistics.count}, d={len(statistics.mean)})")


@main.command(name="import")
@click.argument("source")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Spec file to write.")
@click.option("--input-shape", metavar="D1,D2,...", help="Input shape without batch (applications: e.g. 96,96,3).")
@click.option("--allow-import", "allow_imports", multiple=True, metavar="MODULE",
              help="Allow SOURCE to be MODULE.function (runs that module's code; repeatable).")
@click.option("--check", is_flag=True, help="Build the spec and compare parameters, layer configs and outputs.")
@_reports_spec_errors
def import_model(source, output, input_shape, allow_imports, check):
    """Write a spec that builds the Keras model SOURCE.

    SOURCE is a .keras file (loaded in safe mode; Lambda layers are refused), keras.applications.NAME
    (built with weights=None), or module.function with --allow-import module.
    """
    from kspec.builder.keras_import import compare_round_trip, load_source, spec_from_model, write_spec

    shape = None
    if input_shape:
        try:
            shape = tuple(int(d) for d in input_shape.split(","))
        except ValueError:
            raise SpecError(f"expected integers separated by commas. Received: {input_shape!r}",
                            path="--input-shape") from None
    model = load_source(source, allow_imports, shape)
    document = spec_from_model(model)
    write_spec(document, output, source)
    click.echo(f"wrote {output}: model `{list(document['models'])[-1]}`, {len(model.operations)} layers, "
               f"{model.count_params():,} parameters")
    if check:
        report = compare_round_trip(model, output)
        same = report["parameters"][0] == report["parameters"][1]
        click.echo(f"round trip: parameters {'equal' if same else 'differ %s' % (report['parameters'],)}, "
                   f"layer configs {'equal' if not report['configs_differ'] else 'differ: ' + ', '.join(report['configs_differ'])}, "
                   f"outputs {'identical' if report['outputs_identical'] is True else report['outputs_identical'] or 'differ'}")
        if not same or report["configs_differ"] or report["outputs_identical"] is not True:
            sys.exit(1)


@main.command()
@click.argument("left", type=click.Path(exists=True))
@click.argument("right", type=click.Path(exists=True))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a value on both sides (repeatable).")
@click.option("--set-a", "overrides_a", multiple=True, metavar="KEY=VALUE", help="Override a value of LEFT only.")
@click.option("--set-b", "overrides_b", multiple=True, metavar="KEY=VALUE", help="Override a value of RIGHT only.")
@click.option("--allow-import", "allow_imports", multiple=True, metavar="MODULE", help=_IMPORT_HELP)
def diff(left, right, overrides, overrides_a, overrides_b, allow_imports):
    """Compare two specs or run directories after resolution: models and nodes added, removed or changed.

    Exit 0 when they build the same networks with the same settings, 1 when they differ, 2 on trouble.
    """
    from kspec.builder.diff import diff_specs, format_diff, load_side

    try:
        sides = [load_side(path, [*overrides, *extra], allow_imports)
                 for path, extra in ((left, overrides_a), (right, overrides_b))]
    except SpecError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
    labels = [" ".join([path, *(f"--set {o}" for o in (*overrides, *extra))])
              for path, extra in ((left, overrides_a), (right, overrides_b))]
    result = diff_specs(*sides, *labels)
    click.echo(format_diff(result))
    sys.exit(0 if result.empty() else 1)


@main.command()
def schema():
    """Print kspec's JSON Schema (draft 2020-12) for editors and other tools."""
    import json

    from kspec.builder.schema import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


if __name__ == "__main__":
    main()
