"""``Inpainter``: inpaint uint8 RGB images of any size with a trained DeepFill v1 model.

One NumPy front end (argument checks, the original's ``"crop"`` policy, empty / full masks,
the large-image strategies of :mod:`gi_tf.inference.large_images`) over a backend of
:mod:`gi_tf.inference.backends`: an export's signatures or a generator traced into the same
graph functions, so results agree bit for bit with ``gi-inpaint`` and TF Serving.
"""

import os

import numpy as np
import tensorflow as tf

from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS
from gi_tf.inference import WINDOW_MODES
from gi_tf.inference.backends import GeneratorBackend
from gi_tf.inference.backends import SavedModelBackend
from gi_tf.inference.large_images import DEFAULT_MARGIN
from gi_tf.inference.large_images import inpaint_large
from gi_tf.inference.large_images import validate_strategy
from gi_tf.inference.preprocessing import FULL_MASK_MESSAGE
from gi_tf.inference.preprocessing import POLICIES
from gi_tf.inference.preprocessing import SIZE_MULTIPLE
from gi_tf.inference.preprocessing import cropped_size
from gi_tf.models.checkpoints import checkpoint_problem
from gi_tf.models.checkpoints import load_generator
from gi_tf.utils import files
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS
from gi_tf.utils.image_io import check_pixels
from gi_tf.utils.image_io import holes_from_mask


def as_batch(image, mask):
    """Check user arrays; returns ``(image uint8 [N,H,W,3], holes bool [N,H,W], batched)``.

    Args:
        image: uint8 RGB ``[H, W, 3]`` or ``[N, H, W, 3]``.
        mask: the mask rule of :func:`gi_tf.utils.image_io.holes_from_mask` (bool True,
            uint8 >= 128 or float in [0, 1] > 0.5 = hole): ``[H, W]``, ``[H, W, 1]`` (shared by all samples), or ``[N, H, W]`` /
            ``[N, H, W, 1]``.

    Raises:
        TypeError: wrong dtypes. ValueError: wrong shapes (the message names both), or
        float mask values outside [0, 1] (NaN included).
    """
    if isinstance(image, (bytes, bytearray, str, os.PathLike)):
        raise TypeError(
            f"image must be a uint8 RGB array, not {type(image).__name__}: read files (or "
            "decode bytes) with gi_tf.utils.image_io.read_image first")
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(
            f"image must be a uint8 RGB array (0..255); got dtype {image.dtype}. Read files "
            "with gi_tf.utils.image_io.read_image, or convert with "
            "np.clip(x, 0, 255).astype(np.uint8)")
    if image.ndim not in (3, 4) or image.shape[-1] != 3:
        raise ValueError(
            f"image must be RGB [H, W, 3] or [N, H, W, 3]; got shape {image.shape} (convert "
            "grayscale or RGBA images to RGB first, e.g. with gi_tf.utils.image_io.read_image)")
    batched = image.ndim == 4
    if not batched:
        image = image[None]
    n, h, w = image.shape[:3]
    if min(n, h, w) < 1:
        raise ValueError(f"image must not be empty; got shape {image.shape}")
    mask = np.asarray(mask)
    holes = holes_from_mask(mask)
    shared = {(h, w), (h, w, 1)}
    per_sample = {(n, h, w), (n, h, w, 1)} if batched else set()
    if holes.shape not in shared | per_sample:
        expected = "[H, W] or [H, W, 1]" + (" (or [N, H, W], [N, H, W, 1])" if batched else "")
        raise ValueError(f"mask shape {mask.shape} does not fit image shape "
                         f"{image.shape if batched else image.shape[1:]}: expected {expected} "
                         f"with N, H, W = {n}, {h}, {w}")
    if holes.ndim == 4 or (holes.ndim == 3 and not (batched and holes.shape == (n, h, w))):
        holes = holes[..., 0]  # [N, H, W, 1] or [H, W, 1]
    holes = np.broadcast_to(holes, (n, h, w))
    return image, np.ascontiguousarray(holes), batched


def crop_arrays_to_multiple(image, holes):
    """The original ``test.py`` crop of NumPy batches: top-left ``floor(H/8)*8 x floor(W/8)*8``.

    ``image`` and ``holes`` are ``[N, H, W, ...]``; ``ValueError`` when H or W is below 8.
    The graph's crop is :func:`gi_tf.inference.preprocessing.crop_to_multiple` (the same
    size rule, :func:`gi_tf.inference.preprocessing.cropped_size`).
    """
    h, w = (cropped_size(s) for s in image.shape[1:3])
    if min(h, w) < SIZE_MULTIPLE:
        raise ValueError(f"policy 'crop' needs an image of at least {SIZE_MULTIPLE} x "
                         f"{SIZE_MULTIPLE} pixels; got {image.shape[1]} x {image.shape[2]}")
    return image[:, :h, :w], holes[:, :h, :w]


def _margin(crop_to_hole):
    """``crop_to_hole`` (False/None/0 = off, True, or an int) -> margin in pixels or None."""
    if crop_to_hole is None or crop_to_hole is False or crop_to_hole == 0:
        return None
    return DEFAULT_MARGIN if crop_to_hole is True else crop_to_hole


class Inpainter:
    """Inpaint uint8 RGB images of any size with a trained DeepFill v1 generator.

    Build one with :meth:`load` (an exported SavedModel; its ``serving_default``
    signature runs) or :meth:`from_checkpoint` (a gi_tf checkpoint prefix or directory,
    e.g. ``gi-train``'s ``--model_dir``); :meth:`open` picks either from the path.

    Attributes:
        backend: a :class:`~gi_tf.inference.backends.SavedModelBackend` or
            :class:`~gi_tf.inference.backends.GeneratorBackend`.
        generator: the Keras :class:`~gi_tf.models.InpaintGenerator` when built from a
            checkpoint (``coarse, refined, offsets = generator(image, holes)``: image
            float32 [-1, 1] RGB ``[N, H, W, 3]`` with H, W multiples of 8, holes float32
            ``[N, H, W, 1]``, 1 = hole); ``None`` for a SavedModel.
        model_config: the :class:`~gi_tf.models.config.ModelConfig` (checkpoint) or None.
        saved_model: the object ``tf.saved_model.load`` returned (SavedModel) or None;
            ``saved_model.signatures`` holds every exported signature.
        source: the checkpoint prefix or SavedModel directory it was loaded from.
        max_pixels: :meth:`inpaint` refuses images with more pixels (H * W) with a
            :class:`~gi_tf.utils.image_io.ImageTooLargeError` before running anything
            (None: no limit). A SavedModel's graph also has the limit it was exported
            with (``gi-export --max_pixels``).

    Example:
        >>> inpainter = Inpainter.from_checkpoint("runs/places2")  # doctest: +SKIP
        >>> result = inpainter.inpaint(image, mask)  # uint8 [H, W, 3]  # doctest: +SKIP
    """

    def __init__(self, backend, model_config=None, source=None,
                 max_pixels=DEFAULT_MAX_PIXELS):
        """Around ``backend`` (:mod:`gi_tf.inference.backends`: ``serve(image, mask, window,
        attention)`` and ``plan(mask, window)`` on uint8 tensors). Use :meth:`load`,
        :meth:`from_checkpoint`, :meth:`from_generator` or :meth:`open` instead."""
        self.backend = backend
        self.model_config = model_config
        self.source = source
        self.max_pixels = max_pixels

    @property
    def generator(self):
        return getattr(self.backend, "generator", None)

    @property
    def saved_model(self):
        return getattr(self.backend, "saved_model", None)

    @classmethod
    def load(cls, saved_model_dir, max_pixels=DEFAULT_MAX_PIXELS):
        """From a SavedModel written by ``gi-export``.

        Args:
            saved_model_dir: a version directory (holding ``saved_model.pb``) or an export
                base directory, whose highest integer version is used (as TF Serving).
            max_pixels: see the class attributes.

        Raises:
            FileNotFoundError: no SavedModel there.
            ValueError: a SavedModel that does not load (missing or damaged files, no
                ``serving_default``); the message names the directory and the cause.
        """
        path = resolve_saved_model(saved_model_dir)
        variables = files.join(path, "variables")
        if files.isdir(variables) and files.listdir(variables):  # checked before the graph
            problem = checkpoint_problem(files.join(variables, "variables"))
            if problem is not None:
                raise ValueError(f"SavedModel {path!r} cannot be loaded: {problem} (export it "
                                 "again with gi-export)")
        try:
            loaded = tf.saved_model.load(path)
        except (tf.errors.OpError, ValueError, OSError, IndexError, RuntimeError) as err:
            text = (getattr(err, "message", None) or str(err)).strip()
            raise ValueError(
                f"SavedModel {path!r} cannot be loaded: {text.splitlines()[0][:400]} (is "
                "its variables/ directory complete? export it again with gi-export)") from err
        if "serving_default" not in loaded.signatures:
            raise ValueError(f"SavedModel {path!r} has no 'serving_default' signature")
        return cls(SavedModelBackend(loaded), source=path, max_pixels=max_pixels)

    @classmethod
    def from_checkpoint(cls, path, attention_chunk_elements=DEFAULT_ATTENTION_CHUNK_ELEMENTS,
                        max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=None):
        """From a gi_tf checkpoint (training or imported).

        Args:
            path: checkpoint prefix, or a directory whose latest checkpoint is used
                (``gi-train``'s ``--model_dir``, ``gi-import-tf1``'s output).
            attention_chunk_elements: bound on the attention's score entries per sample
                held at once (same results, bounded memory for large images); None never
                chunks.
            max_pixels: see the class attributes.
            max_request_gb: refuse a request whose estimated working memory is larger
                (as ``gi-export --max_request_gb``; None: no bound).

        Raises:
            FileNotFoundError: no checkpoint there.
            ValueError: damaged files, or a checkpoint of another model; the message
                names the checkpoint and what is wrong
                (:func:`gi_tf.models.checkpoints.load_generator`).
        """
        generator, model_config, prefix = load_generator(
            path, attention_chunk_elements=attention_chunk_elements)
        return cls.from_generator(generator, model_config, source=prefix,
                                  max_pixels=max_pixels, max_request_gb=max_request_gb)

    @classmethod
    def from_generator(cls, generator, model_config=None, source=None,
                       max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=None):
        """Around a built generator with its weights (what :meth:`from_checkpoint` returns
        after loading; gi-app's untrained network).

        Each window mode's function is traced on first use. ``"auto"`` runs the plan's
        path choice first (a small graph): when every sample takes the whole image, the
        whole-image function runs (the arithmetic auto's choice runs), so the windowed path
        is traced only for a request that takes it. Without ``return_attention``,
        :meth:`inpaint` runs variants that leave the attention map out (same results).
        """
        max_request_bytes = None if not max_request_gb else max_request_gb * 1e9
        return cls(GeneratorBackend(generator, max_pixels, max_request_bytes),
                   model_config=model_config, source=source, max_pixels=max_pixels)

    @classmethod
    def open(cls, path, attention_chunk_elements=DEFAULT_ATTENTION_CHUNK_ELEMENTS,
             max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=None):
        """:meth:`load` if ``path`` holds a SavedModel, else :meth:`from_checkpoint`."""
        if is_saved_model(path):
            return cls.load(path, max_pixels=max_pixels)
        return cls.from_checkpoint(path, attention_chunk_elements=attention_chunk_elements,
                                   max_pixels=max_pixels, max_request_gb=max_request_gb)

    def plan(self, image_shape, mask, window="auto"):
        """What :meth:`inpaint` would compute, without running the network.

        Args:
            image_shape: the image's ``(H, W)`` (checked against the mask).
            mask: as :meth:`inpaint` takes it (one image).
            window: ``"auto"``, ``"on"`` or ``"off"``.

        Returns:
            dict: ``windowed`` (bool: the path taken), ``windows`` (int), ``flops`` (of
            that path), ``peak_bytes`` (its estimated peak working memory), and both paths'
            ``windowed_flops`` / ``whole_flops``.
        """
        if window not in WINDOW_MODES:
            raise ValueError(f"window must be one of {WINDOW_MODES}; got {window!r}")
        height, width = image_shape[:2]
        _, holes, _ = as_batch(np.zeros((height, width, 3), np.uint8), mask)
        mask = holes[..., None].astype(np.uint8) * np.uint8(255)
        out = self.backend.plan(tf.constant(mask), window)
        return {key: np.asarray(value)[0].item() for key, value in out.items()}

    def _runner(self, window, attention=True):
        """``run(image uint8 [N,H,W,3], holes bool [N,H,W]) -> (result, attention)`` NumPy
        (``attention`` None when not asked for)."""
        def run(image, holes):
            mask = holes[..., None].astype(np.uint8) * np.uint8(255)
            out = self.backend.serve(tf.constant(image), tf.constant(mask), window, attention)
            return out["inpainted"].numpy(), out["attention"].numpy() if attention else None

        return run

    def inpaint(self, image, mask, return_attention=False, policy="pad", max_side=None,
                crop_to_hole=False, window="auto"):
        """Fill the holes of ``image``.

        Args:
            image: uint8 RGB ``[H, W, 3]`` or ``[N, H, W, 3]``, any size.
            mask: bool (True = hole) or uint8 (>= 128 = hole), ``[H, W]``, ``[H, W, 1]``
                (shared by all samples) or ``[N, H, W]`` / ``[N, H, W, 1]``.
            return_attention: also return the colour-coded attention map.
            policy: ``"pad"`` (default; mirror-pad to a multiple of 8 inside the graph,
                the result has the image's shape) or ``"crop"`` (the original test.py:
                crop to the top-left ``floor(H/8)*8 x floor(W/8)*8``, and the result has
                that shape).
            max_side: None, or inpaint at a working size whose longer side is
                ``max_side`` and paste the upscaled hole back (see
                :mod:`gi_tf.inference.large_images`).
            crop_to_hole: False (default), True (a margin of ``DEFAULT_MARGIN`` = 128
                px) or an int margin: inpaint only the hole's bounding box grown by the
                margin (the context the attention can borrow from), then paste it back.
            window: ``"auto"`` (default), ``"on"`` or ``"off"``: the exact windowed path
                of :mod:`gi_tf.inference.windowed` (same result in the hole, computed only
                where it reaches the hole; the whole image stays the attention's
                background), chosen per sample inside the graph. ``"auto"`` uses it when it
                saves work (float32 models); ``"on"`` always; ``"off"`` runs the whole image.

        Returns:
            uint8 ``result`` of the image's shape (known pixels bit-exact), or
            ``(result, attention)`` with ``return_attention=True`` (uint8 RGB, same
            shape; white where nothing was computed). A sample whose mask is empty is
            returned unchanged without running the network.

        Raises:
            TypeError: image not uint8, or mask neither bool nor uint8.
            ValueError: wrong rank or channels, image/mask shape mismatch, bad strategy
                arguments, or a mask covering the whole image (DeepFill only extends
                known content: "mask covers the whole image: nothing to borrow from");
                :class:`~gi_tf.utils.image_io.ImageTooLargeError` for an image above
                :attr:`max_pixels`.
        """
        image, holes, batched = as_batch(image, mask)
        check_pixels("image", image.shape[1], image.shape[2], self.max_pixels)
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}; got {policy!r}")
        if window not in WINDOW_MODES:
            raise ValueError(f"window must be one of {WINDOW_MODES}; got {window!r}")
        margin = _margin(crop_to_hole)
        max_side, margin = validate_strategy(max_side, margin)
        strategy = max_side is not None or margin is not None
        if policy == "crop":
            if strategy:
                raise ValueError("policy 'crop' reproduces the original test.py and cannot be "
                                 "combined with max_side or crop_to_hole")
            image, holes = crop_arrays_to_multiple(image, holes)
        counts = holes.reshape(len(holes), -1).sum(axis=1)
        full = np.flatnonzero(counts == holes[0].size)
        if len(full):
            which = f" (sample {int(full[0])})" if batched else ""
            raise ValueError(FULL_MASK_MESSAGE + which)
        result = image.copy()
        attention = np.full(image.shape, 255, np.uint8) if return_attention else None
        todo = np.flatnonzero(counts > 0)
        # The approximations build their attention map from the network's.
        run = self._runner(window, attention=return_attention or strategy)
        if len(todo) and not strategy:
            result[todo], todo_attention = run(image[todo], holes[todo])
            if return_attention:
                attention[todo] = todo_attention
        for i in todo if strategy else ():
            result[i], att = inpaint_large(run, image[i], holes[i], max_side, margin)
            if return_attention:
                attention[i] = att
        if not return_attention:
            return result if batched else result[0]
        return (result, attention) if batched else (result[0], attention[0])


def resolve_saved_model(path):
    """A SavedModel directory for ``path``: itself, or its highest integer version."""
    path = os.fspath(path)
    if files.exists(files.join(path, "saved_model.pb")):
        return path
    if files.isdir(path):
        versions = [int(name) for name in files.listdir(path) if name.isdigit()
                    and files.exists(files.join(path, name, "saved_model.pb"))]
        if versions:
            return files.join(path, str(max(versions)))
    raise FileNotFoundError(
        f"No SavedModel at {path!r}: expected a directory with saved_model.pb, or an export "
        "base directory holding integer version directories (<base>/<version>/saved_model.pb); "
        "for a training checkpoint use Inpainter.from_checkpoint")


def is_saved_model(path):
    """True when :func:`resolve_saved_model` finds a SavedModel at ``path``."""
    try:
        resolve_saved_model(path)
    except FileNotFoundError:
        return False
    return True
