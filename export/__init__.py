"""Export stage: trained models -> serving artifacts that need neither kspec nor Keras.

Two modules, one job each: `kspec.export.keras_model.export_model` writes any Keras model (SavedModel, ONNX,
LiteRT; atomic replacement, `kspec.json`); `kspec.export.run.export_run` picks a run's trained model, names it
as in the spec and calls `export_model` (what `kspec export RUN_DIR` runs). Neither imports TensorFlow until
it exports.
"""

from kspec.export.keras_model import export_model
from kspec.export.run import export_run

__all__ = ["export_model", "export_run"]
