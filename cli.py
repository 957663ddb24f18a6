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
@_spec_options
def validate(specs, overrides, allow_imports):
    """Check SPECS (schema, names, references, arguments) without importing TensorFlow. Exit 1 on problems."""
    from kspec.builder import validate as validate_spec

    failed = False
    for spec in specs:
        for problem in validate_spec(spec, overrides, allow_imports):
            click.echo(str(problem), err=True)
            failed = True
    if failed:
        sys.exit(1)
    click.echo(f"{len(specs)} spec{'s' if len(specs) != 1 else ''} valid")


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


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True),
              help="A directory of image files, or an .npz whose array `inputs` (or only array) holds images.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="A directory for one PNG per image, or a file ending in .npz (array `outputs`).")
@click.option("--direction", type=click.Choice(["ab", "ba"]), default="ab", show_default=True,
              help="ab: A -> B (generator_ab, or pix2pix's generator); ba: B -> A (CycleGAN's generator_ba).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_reports_spec_errors
def translate(run_dir, input_path, output, direction, checkpoint):
    """Translate images with a trained CycleGAN or pix2pix run (same input, same output)."""
    from kspec.training.translate import translate_run

    count = translate_run(run_dir, input_path, output, direction=direction, checkpoint=checkpoint)
    click.echo(f"translated {count} image{'s' if count != 1 else ''} ({direction}) to {output}")


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


@main.command()
def schema():
    """Print kspec's JSON Schema (draft 2020-12) for editors and other tools."""
    import json

    from kspec.builder.schema import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


if __name__ == "__main__":
    main()
