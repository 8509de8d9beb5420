"""Inference: the Inpainter, pre/post-processing, large images, SavedModel export,
serving client, file jobs."""

# Bound on the attention's score entries per sample before it is computed in chunks
# of grid rows (see gi_tf.layers.attention_chunked). With 2**26 (256 MB of float32 scores)
# images up to ~720 x 720 never chunk; 1024 x 1024 runs in chunks of 30 grid rows and a
# landscape 1920 x 1080 in chunks of 6 rows (each + 2 halo rows; at least 4 rows per chunk).
# Peak memory and time: WORKSPACE.md and docs/benchmarks.md.
# Defined here, TensorFlow-free, so that the binaries' --help does not load TensorFlow.
DEFAULT_ATTENTION_CHUNK_ELEMENTS = 2**26

# Where one image is inpainted (Inpainter.inpaint, gi-inpaint, gi-app, gi-eval): "auto" runs
# the exact windowed path of gi_tf.inference.windowed when it saves work, "on" always, "off"
# never (the whole image through the network).
WINDOW_MODES = ("auto", "on", "off")

# The exported signatures' bound on one request's estimated working memory (gi-export
# --max_request_gb): a request above it is refused with InvalidArgument before anything heavy
# runs. Half of a small 16 GB server; a 12 MP photo with a small hole needs ~3 GB, the same
# photo through the whole-image path ~10 GB (docs/benchmarks.md, "Large photos end to end").
DEFAULT_MAX_REQUEST_GB = 8.0
