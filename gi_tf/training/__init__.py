"""Training: the GAN model and its train_step, losses, configuration, checkpoints,
distribution, summaries, the loop."""
