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
def schema():
    """Print kspec's JSON Schema (draft 2020-12) for editors and other tools."""
    import json

    from kspec.builder.schema import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


if __name__ == "__main__":
    main()
