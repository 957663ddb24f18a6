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
        from kspec.tensorflow_logs import hide_absl_logs

        hide_absl_logs(click.get_current_context().find_root().params.get("verbose", False))
        try:
            return command(*args, **kwargs)
        except SpecError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kspec")
@click.option("-v", "--verbose", is_flag=True, help="Show TensorFlow's, absl's and oneDNN's own log lines.")
def main(verbose):
    """kspec: declarative YAML specs for Keras 3 models."""
    from kspec.tensorflow_logs import hide_native_logs

    hide_native_logs(verbose)  # before any command imports TensorFlow


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
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
    from kspec.training.train import resume_progress
    from kspec.training.train import train as run_training

    if resume and not overrides:
        done, planned = resume_progress(resume)
        if done >= planned:
            click.echo(f"{resume} is complete: {done} of {planned} epochs trained; nothing to resume")
            return

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
@click.option("--mc-samples", type=click.IntRange(min=2), help="Also add the signature `mc_dropout`: mean and standard "
              "deviation of N passes with dropout active (supervised runs, saved_model).")
@_reports_spec_errors
def export(run_dir, model_name, export_format, checkpoint, output, mc_samples):
    """Export a trained model of RUN_DIR, e.g. as a SavedModel that plain TensorFlow loads and serves."""
    from kspec.export.run import export_run

    path = export_run(run_dir, output, model_name=model_name, export_format=export_format, checkpoint=checkpoint,
                      mc_samples=mc_samples)
    click.echo(f"exported to {path}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True),
              help="A .npz file (raw examples in `x`), a .csv file, or a directory of images.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="A .csv or .npz file (default: CSV on stdout).")
@click.option("--mc-samples", type=click.IntRange(min=1), help="Passes with dropout active (MC dropout); adds "
              "entropy and mutual information (classifiers) or the standard deviation (regressors).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the dropout masks.")
@_reports_spec_errors
def predict(run_dir, input_path, output, mc_samples, batch_size, checkpoint, seed):
    """Predict with the supervised run RUN_DIR on new inputs, preprocessed as in training."""
    from kspec.inspection.predict import predict_run

    predictions = predict_run(run_dir, input_path, output, mc_samples=mc_samples, batch_size=batch_size,
                              checkpoint=checkpoint, seed=seed, progress=output is not None)
    for note in predictions.notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(predictions.csv_text(), nl=False)
    else:
        click.echo(f"wrote {output} ({len(predictions.names)} predictions)")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True),
              help="A directory of images, or a .npz file of raw images in `x`.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="PNG grid of the images and their heatmaps; the raw maps go to the same name with .npz.")
@click.option("--layer", help="Spec node whose feature map is explained (default: the GAP input, else the last "
              "conv node).")
@click.option("--class", "class_", default="predicted", show_default=True,
              help="`predicted`, a class index or a class name.")
@click.option("--method", type=click.Choice(["auto", "cam", "grad-cam"]), default="auto", show_default=True,
              help="CAM needs global average pooling and one dense layer; Grad-CAM works on any conv node.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@_reports_spec_errors
def cam(run_dir, input_path, output, layer, class_, method, checkpoint):
    """Class activation maps (CAM, Grad-CAM) of the image classifier run RUN_DIR, overlaid on the inputs."""
    from kspec.inspection.cam import cam_run

    result = cam_run(run_dir, input_path, output, layer=layer, class_=class_, method=method, checkpoint=checkpoint)
    click.echo(f"{result['method']} on `{result['layer']}`: wrote {result['png']} and {result['npz']}")


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


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--from-label", "from_label", required=True, help="Class A (name or index) whose images are moved.")
@click.option("--to-label", "to_label", required=True, help="Class B they are moved towards.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True, help="Images of class A.")
@click.option("--steps", type=click.IntRange(min=1), default=4, show_default=True,
              help="Rows shifted by 1/steps, 2/steps, ..., 1 of the vector (after the reconstruction row).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed choosing the images.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_reports_spec_errors
def attribute(run_dir, from_label, to_label, output, count, steps, seed, checkpoint):
    """Latent arithmetic of a VAE or AAE run: images of one class moved along the attribute vector to another."""
    from kspec.inspection.latent import attribute_run

    result = attribute_run(run_dir, from_label, to_label, output, count=count, steps=steps, seed=seed,
                           checkpoint=checkpoint)
    click.echo(f"attribute vector {result['from']} -> {result['to']} (length {result['distance']:.3f}): wrote {output}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--dims", default="0,1", show_default=True, help="Comma-separated latent dimensions (two make a grid).")
@click.option("--range", "value_range", nargs=2, type=float, default=(-3.0, 3.0), show_default=True,
              metavar="LOW HIGH", help="Values each dimension takes.")
@click.option("--steps", type=click.IntRange(min=2), default=9, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fixed code of the other dimensions.")
@click.option("--from-data", is_flag=True, help="Fix the other dimensions at the code of a validation image.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@_reports_spec_errors
def traverse(run_dir, dims, value_range, steps, output, seed, from_data, checkpoint):
    """Decode a grid varying chosen latent dimensions of a VAE or AAE run, the others held fixed."""
    from kspec.inspection.latent import traverse_run

    try:
        dimensions = [int(d) for d in dims.split(",") if d.strip()]
    except ValueError:
        raise SpecError(f"expected comma-separated integers. Received: {dims!r}", path="--dims") from None
    result = traverse_run(run_dir, dimensions, *value_range, steps, output, seed=seed, from_data=from_data,
                          checkpoint=checkpoint)
    click.echo(f"wrote {output} ({result['rows']} x {result['columns']} images)")


def _extractor_options(extractor_run, layer, name, inception_weights):
    if inception_weights:
        return {"inception": inception_weights}
    if extractor_run:
        return {"run": extractor_run, "layer": layer, "name": name}
    return None


_METRIC_NAMES = {"fid": "fid", "is": "inception_score", "inception_score": "inception_score", "kid": "kid",
                 "precision": "precision", "recall": "recall", "density": "density", "coverage": "coverage"}


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
@click.argument("run_dir", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--metrics", default="fid", show_default=True,
              help="Comma-separated: fid, is, kid, precision, recall, density, coverage.")
@click.option("--samples", type=click.IntRange(min=2), default=1000, show_default=True, help="Generated images scored.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="last", show_default=True)
@click.option("--reference", type=click.Choice(["train", "validation"]), default="train", show_default=True,
              help="Score against the training images or the held-out validation split.")
@click.option("--k", "k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Neighbourhood size of precision, recall, density and coverage.")
@click.option("-o", "--output", type=click.Path(),
              help="Also write the scores and their protocols to this JSON file (with --calibration: a directory).")
@click.option("--compare", nargs=2, type=click.Path(exists=True), metavar="A B",
              help="Compare two score files (or runs' scores.json) instead; refused where protocols differ.")
@_extractor_flags
@click.option("--calibration", is_flag=True, help="Instead: calibration of a supervised classifier run (reliability "
              "diagram, ECE with and without MC dropout) written to -o DIR.")
@click.option("--mc-samples", type=click.IntRange(min=1), default=30, show_default=True, help="With --calibration.")
@click.option("--ood", default="", help="With --calibration: comma-separated out-of-distribution inputs to score "
              "the uncertainty on (noise, shapes).")
@_reports_spec_errors
def evaluate(run_dir, metrics, samples, seed, checkpoint, reference, k, output, compare, extractor_run, layer, name,
             inception_weights, calibration, mc_samples, ood):
    """Score a generative run's samples against its data (FID, IS, KID, precision, recall, density, coverage), or
    with --calibration a classifier's calibration and uncertainty.

    Each score is printed with its protocol (extractor and weights hash, resize, counts, reference and spec hashes).
    """
    if compare:
        if run_dir:
            raise SpecError("give RUN_DIR to score a run, or --compare A B to compare scores; not both", path="--compare")
        _print_comparison(*compare)
        return
    if not run_dir:
        raise SpecError("give RUN_DIR to score, or --compare A B", path="RUN_DIR")
    if calibration:
        from kspec.inspection.calibration import calibration_command

        lines = calibration_command(run_dir, output, mc_samples=mc_samples, checkpoint=checkpoint, ood=ood, seed=seed)
        for line in lines:
            click.echo(line)
        return
    from kspec.training.evaluation import evaluate_run, write_scores

    names = []
    for metric in filter(None, (m.strip() for m in metrics.split(","))):
        if metric not in _METRIC_NAMES:
            raise SpecError(f"expected any of fid, is, kid, precision, recall, density, coverage. Received: {metric!r}",
                            path="--metrics")
        names.append(_METRIC_NAMES[metric])
    scores = evaluate_run(run_dir, names, samples, _extractor_options(extractor_run, layer, name, inception_weights),
                          seed=seed, checkpoint=checkpoint, reference=reference, k=k)
    for score in scores.values():
        options = ", ".join(f"{key} {value}" for key, value in score.protocol.options)
        click.echo(f"{score}{f' [{options}]' if options else ''}")
    groups = {}
    for score in scores.values():
        groups.setdefault(score.protocol.describe(), []).append(score.name)
    for described, labels in groups.items():
        click.echo(f"protocol of {', '.join(labels)}: {described}")
    if output:
        click.echo(f"wrote {write_scores(scores, output, run=os.path.abspath(run_dir), checkpoint=checkpoint, seed=seed)}")


def _print_comparison(first, second):
    from kspec.metrics.protocol import compare_score_files

    pairs = compare_score_files(first, second)
    width = max(len(name) for name, _, _ in pairs)
    click.echo(f"{'score':<{width}}  {'A':>12}  {'B':>12}  {'B - A':>12}")
    for name, a, b in pairs:
        click.echo(f"{name:<{width}}  {a['value']:>12.6g}  {b['value']:>12.6g}  {b['value'] - a['value']:>12.6g}")
    click.echo(f"A = {first}, B = {second}; protocols agree on extractor, weights, layer, resize, counts, reference "
               "and options")


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
    from kspec.builder.keras_import import (compare_round_trip, load_source, round_trip_text, spec_from_model,
                                            write_spec)

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
        text, same = round_trip_text(compare_round_trip(model, output))
        click.echo(text)
        if not same:
            sys.exit(1)


@main.command()
@click.argument("left", type=click.Path(exists=True))
@click.argument("right", type=click.Path(exists=True))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a value on both sides (repeatable).")
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
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Study directory: trial runs and report (default: runs/<spec>-tune).")
@click.option("--storage", metavar="URL", help="Study database shared by workers, e.g. postgresql://user@host/db "
              "(default: sqlite in OUT/study.db).")
@click.option("--study", "study_name", help="Name of the study in the database (default: the spec's file name).")
@_spec_options
@_reports_spec_errors
def tune(spec, out, storage, study_name, overrides, allow_imports):
    """Search the values in SPEC's `search:` section: train trials until the budget is done; run it again to resume
    or on more machines to share the work. Writes a table of trials, best.yaml and objective.png."""
    try:
        from kspec.tune.runner import tune as run_study
    except ImportError as error:  # Optuna comes with the `tune` extra
        raise SpecError(f"kspec tune needs {error.name}: pip install 'kspec[tune]'", path="tune") from None

    report = run_study(spec, overrides=overrides, allow_imports=allow_imports, out=out, storage=storage,
                       study_name=study_name, echo=click.echo)
    click.echo(report["table"])
    best = report["best"]
    if best is not None:
        click.echo(f"best: trial {best.number}, {report['metric']} {best.value:.4g}; spec {report['best_spec']} "
                   f"(kspec train {report['best_spec']})")
    click.echo(f"plot: {report['plot']}; table: {report['csv']}")


@main.command()
@click.argument("name", required=False)
@click.option("--activations", is_flag=True, help="List the names an `activation:` argument accepts instead.")
@_reports_spec_errors
def layers(name, activations):
    """List the layers a spec can use, or NAME's arguments with their types and defaults (no TensorFlow)."""
    from kspec.builder.layer_help import describe_layer, list_activations, list_layers

    if activations:
        click.echo(list_activations())
    else:
        click.echo(describe_layer(name) if name else list_layers())


def _template_names(context, parameter, incomplete):
    from kspec.templates import template_names

    return [name for name in template_names() if name.startswith(incomplete)]


@main.command()
@click.argument("template", shell_complete=_template_names)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The spec file to write.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@_reports_spec_errors
def init(template, output, force):
    """Write a starter spec: classifier, unet, forecaster, autoencoder, vae, gan or aae (validates and trains as is)."""
    from kspec.templates import write_template

    path = write_template(template, output, force=force)
    click.echo(f"wrote {path}; next: kspec validate {output} && kspec train {output}")


@main.command()
def schema():
    """Print kspec's JSON Schema (draft 2020-12) for editors: structure, every layer and its arguments."""
    import json

    from kspec.builder.editor_schema import load_editor_schema

    click.echo(json.dumps(load_editor_schema(), indent=2))


if __name__ == "__main__":
    main()
