"""The trainers under tf.distribute.MirroredStrategy with two logical CPU devices.

Logical devices must be configured before TensorFlow runs any op, so this runs in a fresh interpreter and
leaves the TensorFlow state of the other tests alone.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import build_aae_models, build_gan_models, build_vae_models, random_images
    from kspec.trainers import gradients
    from kspec.trainers.aae import AAE
    from kspec.trainers.gan import GAN
    from kspec.trainers.vae import VAE

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": strategy.num_replicas_in_sync}

    def finite(history):
        return all(np.isfinite(v).all() for v in history.history.values())

    with strategy.scope():
        vae = VAE(*build_vae_models(), kl_warmup_steps=4, seed=0)
        vae.compile(optimizer="adam")
    results["vae"] = finite(vae.fit(random_images(16), batch_size=8, epochs=1, verbose=0))

    with strategy.scope():
        generator, discriminator = build_gan_models(num_classes=3, batch_norm=True)
        gan = GAN(generator, discriminator, loss="wasserstein_gp", n_critic=2, num_classes=3, ema_decay=0.9, seed=0)
        gan.compile(d_optimizer="adam", g_optimizer="adam")
    history = gan.fit(random_images(16, low=-1.0), np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    results["gan"] = finite(history) and sorted(history.history) == ["d_loss", "g_loss", "gradient_penalty"]
    results["gan_steps"] = [int(keras.ops.convert_to_numpy(o.iterations)) for o in (gan.d_optimizer, gan.g_optimizer)]

    draws = strategy.run(tf.function(lambda: gan.prior.sample(2, seed=gan.seed_generator)))
    first, second = (keras.ops.convert_to_numpy(d) for d in strategy.experimental_local_results(draws))
    results["replicas_draw_different_latents"] = not np.allclose(first, second)

    # The VAE's noise comes from the encoder's Sampling layer: its replicas must draw their own too.
    from kspec.layers import Sampling
    with strategy.scope():
        sampling = Sampling(seed=0)
    zeros = tf.zeros((3, 2))  # z = 0 + exp(0) * eps: the noise itself
    noise = strategy.run(tf.function(lambda: sampling([zeros, zeros])))
    first, second = (keras.ops.convert_to_numpy(n) for n in strategy.experimental_local_results(noise))
    results["sampling_replicas_draw_different_noise"] = not np.allclose(first, second)
    results["sampling_replica_0_draws_single_device_noise"] = bool(
        np.allclose(first, keras.ops.convert_to_numpy(Sampling(seed=0)([np.zeros((3, 2))] * 2))))

    with strategy.scope():
        aae = AAE(*build_aae_models(), prior="gaussian_mixture", reconstruction="mse", seed=0)
        aae.compile(ae_optimizer="adam", d_optimizer="adam")
    results["aae"] = finite(aae.fit(np.random.rand(16, 8).astype("float32"), batch_size=8, epochs=1, verbose=0))

    # One SGD step on a mean squared error: two replicas with half the batch each must match one device.
    x = np.arange(8, dtype="float32").reshape(4, 2) / 8.0
    y = np.array([[1.0], [0.0], [2.0], [-1.0]], "float32")

    def step(model, optimizer, features, targets):
        def loss():
            return keras.ops.mean(keras.ops.square(model(features) - targets)), ()
        gradients.minimize(optimizer, loss, model.trainable_weights)

    def linear():
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])

    single = linear()
    step(single, keras.optimizers.SGD(0.1), x, y)
    with strategy.scope():
        mirrored, optimizer = linear(), keras.optimizers.SGD(0.1)
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(4))
    for features, targets in dataset:
        strategy.run(tf.function(lambda f, t: step(mirrored, optimizer, f, t)), args=(features, targets))
    results["max_weight_difference"] = float(
        max(np.abs(a - b).max() for a, b in zip(single.get_weights(), mirrored.get_weights()))
    )
    print("RESULTS " + json.dumps(results))
    """
)


@pytest.mark.slow
def test_trainers_run_under_mirrored_strategy_with_two_devices():
    here = os.path.dirname(os.path.abspath(__file__))
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, here], capture_output=True, text=True, timeout=300
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULTS ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    results = json.loads(lines[-1][len("RESULTS ") :])
    assert results["replicas"] == 2
    assert results["vae"] and results["gan"] and results["aae"]
    assert results["gan_steps"] == [4, 2]  # 2 batches, n_critic=2
    assert results["replicas_draw_different_latents"]
    assert results["sampling_replicas_draw_different_noise"]
    assert results["sampling_replica_0_draws_single_device_noise"]
    # Gradients are summed over replicas, so each replica's loss is scaled by 1/2: same step as one device.
    assert results["max_weight_difference"] < 1e-6
