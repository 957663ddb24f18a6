"""`kspec predict RUN --input PATH`: a supervised run's predictions on new inputs, with MC-dropout uncertainty.

Inputs are read and normalized as in training (`kspec.inspection.inputs`). Without `mc_samples` the model
runs once in inference mode; with it, `mc_samples` passes run with dropout active (BatchNormalization and the
rest in inference mode, `kspec.inspection.mc_dropout`) and are summarized (`kspec.inspection.uncertainty`):
classifiers get the mean probabilities, the predicted class, the predictive entropy and the mutual
information (BALD); regressors and forecasters the mean and standard deviation, in the targets' raw units.
"""

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from kspec.builder.training_checks import split_call
from kspec.errors import SpecError
from kspec.inspection.uncertainty import as_class_probabilities, classification_summary, entropy, regression_summary

CLASS_TASKS = ("classification", "segmentation")
OUTPUT_SUFFIXES = (".csv", ".npz")


@dataclass
class Predictions:
    """A run's predictions on some inputs.

    Attributes:
        names: one label per example (index, file, rows).
        arrays: named arrays with the examples along the first axis: `probabilities`, `predicted`, `entropy`
            (and `mutual_information` with MC samples) for classifiers; `mean` (and `stddev`) otherwise.
        class_names: names of the classes for classifiers, else None.
        mc_samples: passes per example (None: one deterministic pass).
        notes: things the user should know (e.g. MC samples of a model without dropout).
    """

    names: list
    arrays: dict
    class_names: tuple | None = None
    mc_samples: int | None = None
    notes: list = field(default_factory=list)

    def csv_text(self):
        """One row per example: `input`, then one column per value (`p_<class>` for class probabilities)."""
        columns = {"input": np.asarray(self.names)}
        for key, values in self.arrays.items():
            if values.ndim > 2:
                raise SpecError(f"predictions of shape {values.shape[1:]} per example do not fit in CSV columns; "
                                "write them with -o FILE.npz", path="--output")
            if key == "predicted" and self.class_names:
                columns["predicted"] = np.asarray([self.class_names[i] for i in values])
            elif values.ndim == 1:
                columns[key] = values
            else:
                labels = self.class_names if key == "probabilities" else range(values.shape[1])
                prefix = "p" if key == "probabilities" else key
                for index, label in enumerate(labels):
                    columns[f"{prefix}_{label}"] = values[:, index]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*columns.values()):
            writer.writerow([f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in row])
        return text.getvalue()

    def write(self, path):
        """Writes `path` (.csv or .npz) atomically; returns it."""
        from kspec.inspection.output_files import write_npz
        from kspec.training.run_directory import write_atomic

        if path.lower().endswith(".csv"):
            write_atomic(path, self.csv_text())
        elif path.lower().endswith(".npz"):
            write_npz(path, {"names": np.asarray(self.names, dtype=str), **self.arrays,
                              **({"class_names": np.asarray(self.class_names, dtype=str)} if self.class_names else {})})
        else:
            raise SpecError(f"expected a file name ending in .csv or .npz. Received: {path}", path="--output")
        return path


def from_logits(config):
    """True when the run's loss takes logits (`from_logits: true`), so outputs need a softmax or sigmoid."""
    return bool(split_call(config.loss)[1].get("from_logits")) if config.loss is not None else False


def output_passes(model, inputs, *, mc_samples=None, batch_size=32, logits=False, progress=False):
    """The model's outputs on `inputs`: `(n, ...)` for one inference pass, `(n, T, ...)` for T MC-dropout passes.

    Args:
        model: a single-output `keras.Model`.
        inputs: normalized inputs `(n, ...)`.
        mc_samples: None for one deterministic pass, else T dropout-active passes.
        batch_size: examples per call.
        logits: apply a softmax (sigmoid for one unit) to turn logits into probabilities.
        progress: show a progress bar over the batches.
    """
    import keras

    from kspec.inspection.mc_dropout import monte_carlo_predict

    if mc_samples is None:
        verbose = 1 if progress and len(inputs) > batch_size else 0
        outputs = model.predict(inputs, batch_size=batch_size, verbose=verbose)
    else:
        outputs = monte_carlo_predict(model, inputs, mc_samples, batch_size=batch_size, progress=progress)[0]
    outputs = np.asarray(outputs, dtype="float32")
    if logits:
        activation = keras.activations.sigmoid if outputs.shape[-1] == 1 else keras.activations.softmax
        outputs = keras.ops.convert_to_numpy(activation(outputs))
    return outputs


def summarize(outputs, facts, mc_samples):
    """The arrays of `Predictions` from `output_passes`'s outputs and the run's `DataFacts`."""
    if facts.task in CLASS_TASKS:
        if mc_samples is None:
            probabilities = as_class_probabilities(outputs)
            return {"probabilities": probabilities, "predicted": np.argmax(probabilities, axis=-1),
                    "entropy": entropy(probabilities)}
        return classification_summary(outputs)
    target = facts.target_normalization
    if mc_samples is None:
        return {"mean": outputs if target is None else target.invert(outputs)}
    summary = regression_summary(outputs)
    if target is not None:  # back to the targets' raw units: an affine map scales the deviation by `scale`
        summary = {"mean": target.invert(summary["mean"]),
                   "stddev": summary["stddev"] * np.asarray(target.scale, dtype="float64")}
    return summary


def predict_run(run_dir, input_path, output=None, *, mc_samples=None, batch_size=32, checkpoint="best", seed=0,
                progress=False):
    """Predicts with a supervised run on new inputs; writes `output` (.csv or .npz) when given.

    Args:
        run_dir: the run directory.
        input_path: a .npz file, a .csv file or a directory of images (see `kspec.inspection.inputs`).
        output: a .csv or .npz file to write, or None.
        mc_samples: dropout-active passes per example (None: one deterministic pass).
        batch_size: examples per call.
        checkpoint: `best` or `last`.
        seed: seed of the dropout masks (the same seed gives the same MC samples).
        progress: show a progress bar on long inputs.

    Returns:
        `Predictions`.

    Raises:
        SpecError: for a run that is not supervised, a model with several outputs, unreadable inputs or
            inputs of the wrong shape.

    Example (shell):
        kspec predict runs/cnn --input digits.npz -o predictions.csv --mc-samples 30
    """
    import keras

    from kspec.inspection.inputs import read_inputs
    from kspec.inspection.mc_dropout import dropout_layers
    from kspec.training.supervised_run import load_supervised

    if output is not None and not output.lower().endswith(OUTPUT_SUFFIXES):
        raise SpecError(f"expected a file name ending in .csv or .npz. Received: {output}", path="--output")
    keras.utils.set_random_seed(seed)  # before loading: the dropout layers' seed generators start from it
    trained = load_supervised(run_dir, checkpoint, command="predict")
    model = trained.model
    if len(model.outputs) != 1:
        raise SpecError(f"`kspec predict` handles models with one output; model `{trained.config.model}` has "
                        f"{len(model.outputs)} ({', '.join(trained.graph.outputs)})", path="RUN_DIR")
    facts = trained.data_facts()
    inputs = read_inputs(input_path, facts, trained.spec.data or {})
    outputs = output_passes(model, inputs.normalized, mc_samples=mc_samples, batch_size=batch_size,
                            logits=from_logits(trained.config), progress=progress)
    notes = []
    if mc_samples and not dropout_layers(model):
        notes.append(f"model `{trained.config.model}` has no dropout layer: all {mc_samples} passes agree "
                     "(standard deviation and mutual information 0)")
    predictions = Predictions(inputs.names, summarize(outputs, facts, mc_samples),
                              facts.class_names if facts.task in CLASS_TASKS else None, mc_samples, notes)
    if predictions.class_names is None and facts.task in CLASS_TASKS:
        predictions.class_names = tuple(str(i) for i in range(predictions.arrays["probabilities"].shape[-1]))
    if output is not None:
        predictions.write(output)
    return predictions
