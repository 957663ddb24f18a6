import subprocess
import sys


def test_importing_trainers_package_does_not_import_tensorflow_and_load_all_registers():
    code = (
        "import sys, kspec.registry, kspec.trainers\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported too early'\n"
        "kspec.trainers.load_all()\n"
        "from kspec.registry import TRAINERS, PRIORS\n"
        "print(TRAINERS.names(), PRIORS.names())\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "['aae', 'cyclegan', 'gan', 'pix2pix', 'vae'] ['gaussian', 'gaussian_mixture', 'uniform']"


def test_lazy_attributes_resolve_to_the_trainer_classes():
    import kspec.trainers
    from kspec.trainers.vae import VAE

    assert kspec.trainers.VAE is VAE
