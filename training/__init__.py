"""Training runs: run directories, atomic checkpoints with resume, and `kspec train` for supervised specs."""
