"""Inference: the Inpainter, pre/post-processing, large images, SavedModel export, serving client, file jobs."""
