"""Import of the authors' TF1 DeepFill v1 checkpoints."""
