"""Tiny models the trainer tests train: a few hundred weights, so each fit takes well under a second."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_vae_models(image_shape=(8, 8, 1), latent_dim=2, seed=0):
    import keras

    from kspec.layers import Sampling

    keras.utils.set_random_seed(seed)
    images = keras.Input(image_shape)
    features = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(images))
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(features)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(features)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    encoder = keras.Model(images, [z_mean, z_log_var, z], name="encoder")
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(int(np.prod(image_shape)), activation="sigmoid"),
            keras.layers.Reshape(image_shape),
        ],
        name="decoder",
    )
    return encoder, decoder


def build_gan_models(image_shape=(8, 8, 1), latent_dim=4, num_classes=None, batch_norm=False, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    size = int(np.prod(image_shape))
    z = keras.Input((latent_dim,), name="z")
    generator_inputs = [z]
    hidden = z
    if num_classes:
        label = keras.Input((1,), dtype="int32", name="label")
        generator_inputs.append(label)
        hidden = keras.layers.Concatenate()([z, keras.layers.Flatten()(keras.layers.Embedding(num_classes, 3)(label))])
    hidden = keras.layers.Dense(16)(hidden)
    if batch_norm:
        hidden = keras.layers.BatchNormalization()(hidden)
    hidden = keras.layers.LeakyReLU(0.2)(hidden)
    image = keras.layers.Reshape(image_shape)(keras.layers.Dense(size, activation="tanh")(hidden))
    generator = keras.Model(generator_inputs if num_classes else z, image, name="generator")

    images = keras.Input(image_shape, name="image")
    discriminator_inputs = [images]
    hidden = keras.layers.Flatten()(images)
    if num_classes:
        label = keras.Input((num_classes,), name="label")  # one-hot, unlike the generator's integer input
        discriminator_inputs.append(label)
        hidden = keras.layers.Concatenate()([hidden, label])
    hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(16)(hidden))
    logit = keras.layers.Dense(1)(hidden)
    discriminator = keras.Model(discriminator_inputs if num_classes else images, logit, name="discriminator")
    return generator, discriminator


def build_aae_models(data_dim=8, latent_dim=2, hidden=32, seed=0):
    import keras

    keras.utils.set_random_seed(seed)

    def mlp(inputs, outputs, name, activation=None):
        return keras.Sequential(
            [
                keras.Input((inputs,)),
                keras.layers.Dense(hidden, activation="relu"),
                keras.layers.Dense(hidden, activation="relu"),
                keras.layers.Dense(outputs, activation=activation),
            ],
            name=name,
        )

    return mlp(data_dim, latent_dim, "encoder"), mlp(latent_dim, data_dim, "decoder"), mlp(latent_dim, 1, "critic")


def random_images(count=16, image_shape=(8, 8, 1), low=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, 1.0, size=(count, *image_shape)).astype("float32")


def weights_of(model):
    return [w.numpy() for w in model.trainable_weights]


def moved(before, model):
    """True when any trainable weight of `model` differs from `before`."""
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


def record_prior_draws(monkeypatch, trainer):
    """Records `(n, drawn from trainer.seed_generator)` for each draw of `trainer.prior` from now on."""
    drawn = []
    sample = trainer.prior.sample

    def spy(n, seed=None):
        drawn.append((int(n), seed is trainer.seed_generator))
        return sample(n, seed=seed)

    monkeypatch.setattr(trainer.prior, "sample", spy)
    return drawn


@pytest.fixture
def vae_models():
    return build_vae_models()


@pytest.fixture
def gan_models():
    return build_gan_models()


@pytest.fixture
def tiny():
    """The builders above, for tests that need non-default sizes or several sets of models."""
    import types

    return types.SimpleNamespace(
        vae_models=build_vae_models,
        gan_models=build_gan_models,
        aae_models=build_aae_models,
        flagged_aae_models=build_flagged_aae_models,
        flagged_gan_models=build_flagged_gan_models,
        images=random_images,
        prior_draws=record_prior_draws,
        weights_of=weights_of,
        moved=moved,
    )


def build_translation_models(shape_a=(8, 8, 1), shape_b=(8, 8, 1), conditional=False, seed=0):
    """Tiny image-to-image models: generators A -> B and B -> A and a PatchGAN-like discriminator per domain.

    With `conditional` the discriminators take `[input image, output image]` (pix2pix). Each holds a few
    hundred weights with instance normalization and reflection padding, like the real ones.
    """
    import keras

    from kspec.layers import InstanceNormalization, ReflectionPadding2D

    keras.utils.set_random_seed(seed)

    def generator(source, target, name):
        images = keras.Input(source)
        hidden = keras.layers.Conv2D(4, 3, use_bias=False)(ReflectionPadding2D(1)(images))
        hidden = keras.layers.ReLU()(InstanceNormalization()(hidden))
        output = keras.layers.Conv2D(target[-1], 3, padding="same", activation="tanh")(hidden)
        return keras.Model(images, output, name=name)

    def discriminator(shape, name, condition=None):
        images = keras.Input(shape)
        inputs = images
        if condition is not None:
            source = keras.Input(condition)
            inputs = keras.layers.Concatenate()([source, images])
        hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(4, 4, strides=2, padding="same")(inputs))
        patches = keras.layers.Conv2D(1, 3, padding="same")(hidden)
        return keras.Model([source, images] if condition is not None else images, patches, name=name)

    generator_ab = generator(shape_a, shape_b, "generator_ab")
    if conditional:
        return generator_ab, discriminator(shape_b, "discriminator", condition=shape_a)
    return (generator_ab, generator(shape_b, shape_a, "generator_ba"), discriminator(shape_a, "discriminator_a"),
            discriminator(shape_b, "discriminator_b"))


def flagged_model(inputs, joined, kernel, name):
    """`keras.Model(inputs, kernel(flags(joined)))` with an identity layer `flags` that records the `training`
    flag of every call (appended at each call, or at tracing in a compiled step): `(model, recorded flags)`."""
    import keras

    class TrainingFlags(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

        def call(self, inputs, training=None):
            self.seen.append(training)
            return inputs

    flags = TrainingFlags()
    model = keras.Model(inputs, kernel(flags(joined)), name=name)
    flags.seen.clear()  # the symbolic call that built the model
    return model, flags.seen


def _kernel_regularizer(regularization):
    import keras

    return keras.regularizers.L2(regularization) if regularization else None


def build_flagged_translation_models(conditional=False, regularization=0.0):
    """Pointwise (1x1) translation models, as `build_translation_models` returns them, and per model the list
    of the `training` flags it was called with (see `flagged_model`).

    Every kernel is ones; with `regularization`, it carries an L2 penalty of that factor (in `model.losses`).
    """
    import keras

    def pointwise(inputs, joined, name):
        kernel = keras.layers.Conv2D(1, 1, kernel_initializer="ones",
                                     kernel_regularizer=_kernel_regularizer(regularization))
        return flagged_model(inputs, joined, kernel, name)

    def generator(name):
        images = keras.Input((4, 4, 1))
        return pointwise(images, images, name)

    def discriminator(name):
        images = keras.Input((4, 4, 1))
        if not conditional:
            return pointwise(images, images, name)
        source = keras.Input((4, 4, 1))
        return pointwise([source, images], keras.layers.Concatenate()([source, images]), name)

    built = [generator("generator_ab")] + ([] if conditional else [generator("generator_ba")])
    built += [discriminator("discriminator")] if conditional else [discriminator("discriminator_a"),
                                                                   discriminator("discriminator_b")]
    return tuple(model for model, _ in built), tuple(seen for _, seen in built)


def _flagged_linear_models(sizes, regularization):
    """Per `(inputs, outputs, name)`, a Dense model with a kernel of ones (an L2 penalty of `regularization` when
    set): the models, and per model its recorded `training` flags (see `flagged_model`)."""
    import keras

    def linear(inputs, outputs, name):
        features = keras.Input((inputs,))
        kernel = keras.layers.Dense(outputs, kernel_initializer="ones",
                                    kernel_regularizer=_kernel_regularizer(regularization))
        return flagged_model(features, features, kernel, name)

    built = [linear(*size) for size in sizes]
    return tuple(model for model, _ in built), tuple(seen for _, seen in built)


def build_flagged_aae_models(data_dim=4, latent_dim=2, regularization=0.0):
    """Linear encoder, decoder and latent discriminator that record their `training` flags."""
    return _flagged_linear_models([(data_dim, latent_dim, "encoder"), (latent_dim, data_dim, "decoder"),
                                   (latent_dim, 1, "critic")], regularization)


def build_flagged_gan_models(latent_dim=2, data_dim=4, regularization=0.0, num_classes=None):
    """A linear generator and discriminator of vectors that record their `training` flags; with `num_classes`,
    each also takes a one-hot label `(num_classes,)`, joined to its first input."""
    sizes = [(latent_dim, data_dim, "generator"), (data_dim, 1, "discriminator")]
    if num_classes is None:
        return _flagged_linear_models(sizes, regularization)
    import keras

    def conditional(inputs, outputs, name):
        features, label = keras.Input((inputs,)), keras.Input((num_classes,))
        kernel = keras.layers.Dense(outputs, kernel_initializer="ones",
                                    kernel_regularizer=_kernel_regularizer(regularization))
        return flagged_model([features, label], keras.layers.Concatenate()([features, label]), kernel, name)

    built = [conditional(*size) for size in sizes]
    return tuple(model for model, _ in built), tuple(seen for _, seen in built)


@pytest.fixture(scope="session")
def translation():
    """Builders of tiny translation models and image batches in [-1, 1]."""
    import types

    return types.SimpleNamespace(
        models=build_translation_models,
        flagged_models=build_flagged_translation_models,
        images=lambda count=8, shape=(8, 8, 1), seed=0: random_images(count, shape, low=-1.0, seed=seed),
        weights_of=weights_of,
        moved=moved,
    )
