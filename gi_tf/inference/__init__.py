"""Inference: the Inpainter, pre/post-processing, large images, SavedModel export,
serving client, file jobs."""

# Bound on the attention's score entries per sample before it is computed in chunks
# of grid rows (see gi_tf.layers.attention_chunked). With 2**26 (256 MB of float32 scores)
# images up to ~720 x 720 never chunk; 1024 x 1024 runs in chunks of 24 grid rows and a
# landscape 1920 x 1080 in chunks of 1 row (+ 8 halo rows: 9x the matching work, still
# faster than 2**27 was). Peak memory and time: WORKSPACE.md and export/README.md.
# Defined here, TensorFlow-free, so that the binaries' --help does not load TensorFlow.
DEFAULT_ATTENTION_CHUNK_ELEMENTS = 2**26
