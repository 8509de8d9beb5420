"""Export a generator as a SavedModel for TF Serving and ``tf.saved_model.load``.

Five signatures, all with dynamic batch, height and width and bodies from
:mod:`gi_tf.inference.preprocessing` (so they agree with ``Inpainter`` and ``gi-inpaint``):
``serving_default`` (uint8 image and mask), ``serving_window`` (the same plus ``window``),
``inpaint_encoded`` (PNG/JPEG bytes), ``inpaint_float`` (float32 in [-1, 1], with the
offsets) and ``plan`` (the cost of a request, without running the network). Their inputs and
outputs: ``export/README.md`` and ``export/signatures.json`` (a test compares it with an
export). A version is written as ``<export_base>/<version>/`` (TF Serving's layout, with
``assets.extra/``: model_config.json, export_info.json and the warm-up requests of
:mod:`gi_tf.inference.warmup`), staged in a hidden sibling and published in one step by
:func:`gi_tf.utils.files.publish_directory`.
"""

import datetime
import os

import keras
import tensorflow as tf

from gi_tf import __version__
from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS
from gi_tf.inference import DEFAULT_MAX_REQUEST_GB
from gi_tf.inference import graph_size
from gi_tf.inference import preprocessing
from gi_tf.inference import warmup as warmup_lib
from gi_tf.models.checkpoints import load_generator
from gi_tf.utils import files
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS

SIGNATURE_KEYS = ("serving_default", "inpaint_float", "inpaint_encoded", "serving_window",
                  "plan")
EXTRA_DIR = "assets.extra"
EXPORT_INFO_FILE = "export_info.json"
SAVED_MODEL_FILE = "saved_model.pb"


def gigabytes_to_bytes(gb):
    """``max_request_gb`` -> bytes (None or 0: no bound)."""
    return None if not gb else float(gb) * 1e9


def endpoints(generator, max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=DEFAULT_MAX_REQUEST_GB):
    """``{signature key: (python function, input_signature)}`` for the endpoints.

    ``max_pixels``: the largest image (H * W per sample) each endpoint accepts (None: no
    limit); ``max_request_gb``: the largest estimated working memory of a request (None or
    0: no bound).
    """
    limit = dict(max_pixels=max_pixels, max_request_bytes=gigabytes_to_bytes(max_request_gb))
    return {
        "serving_default": (
            lambda image, mask: preprocessing.inpaint_uint8(generator, image, mask, **limit),
            [preprocessing.IMAGE_SPEC, preprocessing.MASK_SPEC]),
        "inpaint_float": (
            lambda image, mask: preprocessing.inpaint_float(generator, image, mask, **limit),
            [preprocessing.FLOAT_IMAGE_SPEC, preprocessing.FLOAT_MASK_SPEC]),
        "inpaint_encoded": (
            lambda image_bytes, mask_bytes: preprocessing.inpaint_encoded(
                generator, image_bytes, mask_bytes, **limit),
            [preprocessing.IMAGE_BYTES_SPEC, preprocessing.MASK_BYTES_SPEC]),
        "serving_window": (
            lambda image, mask, window: preprocessing.inpaint_uint8(
                generator, image, mask, window=window, **limit),
            [preprocessing.IMAGE_SPEC, preprocessing.MASK_SPEC, preprocessing.WINDOW_SPEC]),
        "plan": (
            lambda mask, window: preprocessing.plan_costs(generator, mask, window),
            [preprocessing.MASK_SPEC, preprocessing.WINDOW_SPEC]),
    }


def save_archive(generator, directory, max_pixels=DEFAULT_MAX_PIXELS,
                 max_request_gb=DEFAULT_MAX_REQUEST_GB):
    """Write the SavedModel with :class:`keras.export.ExportArchive`.

    ExportArchive stores the generator's variables as plain ``tf.Variable``s, which the
    TF1-style loaders (TF Serving, ``saved_model_cli run``) restore.
    """
    archive = keras.export.ExportArchive()
    archive.track(generator)
    for key, (fn, signature) in endpoints(generator, max_pixels, max_request_gb).items():
        archive.add_endpoint(key, tf.autograph.experimental.do_not_convert(fn),
                             input_signature=signature)
    archive.write_out(directory, verbose=False)
    # Each value computed once (same results, about half the nodes: gi_tf.inference.graph_size).
    graph_size.shrink_saved_model(directory)


def existing_versions(export_base):
    """Sorted integer version directory names in ``export_base`` (empty if missing)."""
    if not files.isdir(export_base):
        return []
    return sorted(int(name) for name in files.listdir(export_base) if name.isdigit())


def next_version(export_base):
    """1 + the highest integer directory name in ``export_base`` (1 when there is none)."""
    return max(existing_versions(export_base), default=0) + 1


def check_version(version):
    """``version`` as a positive int (TF Serving's directory names), else ValueError."""
    if isinstance(version, bool) or int(version) != version or int(version) < 1:
        raise ValueError(f"version must be a positive integer (TF Serving's layout); "
                         f"got {version!r}")
    return int(version)


def write_extras(directory, model_config, info):
    """Write ``model_config.json`` and ``export_info.json`` into ``directory/assets.extra``."""
    extra = files.join(directory, EXTRA_DIR)
    files.makedirs(extra)
    model_config.write(extra)
    files.write_json(files.join(extra, EXPORT_INFO_FILE), info)


def _export_info(model_config, version, source, attention_chunk_elements, max_pixels,
                 max_request_gb, warmup):
    return {
        "gi_tf_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "source_checkpoint": None if source is None else os.fspath(source),
        "model_config": model_config.to_dict(),
        "attention_chunk_elements": attention_chunk_elements,
        "max_pixels": max_pixels,
        "max_request_gb": max_request_gb or None,
        "version": version,
        "signatures": list(SIGNATURE_KEYS),
        "warmup_requests": warmup_lib.WARMUP_FILE if warmup else None,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
    }


def export_generator(generator, model_config, export_base, version=None, source=None,
                     max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=DEFAULT_MAX_REQUEST_GB,
                     warmup=True):
    """Write ``generator`` as ``<export_base>/<version>/``; returns that path.

    Args:
        generator: a built generator with its weights.
        model_config: its :class:`gi_tf.models.config.ModelConfig` (written to assets.extra).
        export_base: TF Serving's model base path, local or any TF filesystem
            (``gs://``, ``ram://``); created if missing.
        version: positive int; default the next free integer (:func:`next_version`).
        source: recorded in ``export_info.json`` (e.g. the checkpoint prefix).
        max_pixels: the largest image (H * W) the signatures accept (None: no limit).
        warmup: write TF Serving's warm-up requests (:mod:`gi_tf.inference.warmup`).

    Raises:
        FileExistsError: ``<export_base>/<version>`` already exists.
        ValueError: ``version`` is not a positive integer.
        gi_tf.utils.files.FileWriteError: writing failed (no space left, permission
            denied, ...); nothing of the version is left.
    """
    export_base = files.abspath(os.fspath(export_base))
    version = next_version(export_base) if version is None else check_version(version)
    final = files.join(export_base, str(version))
    if files.exists(final):
        raise FileExistsError(f"export version {final!r} already exists; pick another --version "
                              "or leave it out to use the next free one")
    # Written into a hidden sibling (TF Serving only loads all-digit names) and published
    # when complete; where directories cannot be renamed, saved_model.pb is moved last.
    # A write that fails (disk full, permission denied) removes the staging directory and
    # is reported as one FileWriteError naming the version directory.
    with files.publish_directory(final, last=(SAVED_MODEL_FILE,)) as tmp:
        try:
            save_archive(generator, tmp, max_pixels, max_request_gb)
        except (OSError, tf.errors.OpError) as err:
            raise files.write_error(err, final, "writing the SavedModel") from err
        write_extras(tmp, model_config, _export_info(
            model_config, version, source, generator.attention_chunk_elements, max_pixels,
            max_request_gb, warmup))
        if warmup:
            warmup_lib.write_warmup_file(files.join(tmp, EXTRA_DIR))
    return final


def export_saved_model(checkpoint_path, export_base, version=None,
                       attention_chunk_elements=DEFAULT_ATTENTION_CHUNK_ELEMENTS,
                       max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=DEFAULT_MAX_REQUEST_GB,
                       warmup=True):
    """Export a gi_tf checkpoint as a TF Serving version directory.

    Args:
        checkpoint_path: a checkpoint prefix, or a directory whose latest checkpoint is
            used (``gi-train``'s ``--model_dir``, ``gi-import-tf1``'s output).
        export_base: the model base path; the SavedModel goes to
            ``<export_base>/<version>/``.
        version: positive int, default the next free integer.
        attention_chunk_elements: bound on the attention's score entries per sample,
            baked into the graph (bounded memory for large images, same results); None
            never chunks.
        max_pixels: the largest image (H * W) the signatures accept (None: no limit).
        max_request_gb, warmup: see :func:`export_generator`.

    Returns:
        The path of the written version directory.
    """
    generator, model_config, prefix = load_generator(
        checkpoint_path, attention_chunk_elements=attention_chunk_elements)
    return export_generator(generator, model_config, export_base, version=version, source=prefix,
                            max_pixels=max_pixels, max_request_gb=max_request_gb,
                            warmup=warmup)


def _spec_dict(spec):
    shape = [-1 if d is None else int(d) for d in spec.shape.as_list()]
    return {"dtype": spec.dtype.name, "shape": shape}


def describe_signatures(loaded):
    """``{key: {"inputs": {name: {dtype, shape}}, "outputs": {...}}}`` of a loaded SavedModel.

    Shapes use -1 for dynamic dimensions, as ``export/signatures.json`` and
    ``saved_model_cli show`` do.
    """
    description = {}
    for key, function in loaded.signatures.items():
        _, inputs = function.structured_input_signature
        description[key] = {
            "inputs": {name: _spec_dict(spec) for name, spec in sorted(inputs.items())},
            "outputs": {name: _spec_dict(spec)
                        for name, spec in sorted(function.structured_outputs.items())},
        }
    return description
