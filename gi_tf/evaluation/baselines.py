"""Classical inpainting baselines: OpenCV's ``cv2.inpaint`` and PatchMatch as evaluation methods.

A *method* (see :mod:`gi_tf.evaluation.evaluate`) is a callable ``method(image, holes)`` taking
uint8 RGB ``[H, W, 3]`` and bool ``[H, W]`` (True = hole) and returning uint8 RGB
``[H, W, 3]``. Three baselines:

* ``"OpenCV Telea"``: ``cv2.INPAINT_TELEA``, fast marching (Telea, 2004);
* ``"OpenCV NS"``: ``cv2.INPAINT_NS``, Navier-Stokes (Bertalmio, Bertozzi, Sapiro, 2001);
* ``"PatchMatch"``: patch-based completion (Barnes, Shechtman, Finkelstein, Goldman, 2009),
  the baseline of the paper's Table 1, from the optional ``pypatchmatch`` package
  (``pip install "gi_tf[patchmatch]"``): 7x7 patches (``patch_size=3``, a radius, as the
  paper's 7x7) and a fixed seed, so results repeat. Without the package (or on Python
  3.10, which pypatchmatch 2.x does not support) :func:`baseline_methods` leaves it out and
  says why.

The OpenCV ones use a 3 px neighbourhood radius by default (the value of OpenCV's own
inpainting sample). All run on the very same uint8 RGB image and mask as the network, and
their output is pasted into the hole only, so known pixels stay bit-exact.

Example:
    >>> image = np.full((16, 16, 3), 90, np.uint8); holes = np.zeros((16, 16), bool)
    >>> holes[4:8, 4:8] = True
    >>> baseline_methods()["OpenCV Telea"](image, holes).shape
    (16, 16, 3)
"""

import platform
import sys

import cv2
import numpy as np

DEFAULT_RADIUS = 3
TELEA = "OpenCV Telea"
NAVIER_STOKES = "OpenCV NS"
PATCHMATCH = "PatchMatch"
PATCHMATCH_PATCH_SIZE = 3  # pypatchmatch's radius: 7x7 patches, as Barnes et al. 2009
PATCHMATCH_SEED = 0
PATCHMATCH_INSTALL = 'pip install "gi_tf[patchmatch]"'


def opencv_inpaint(algorithm="telea", radius=DEFAULT_RADIUS):
    """A method running ``cv2.inpaint`` with ``algorithm`` ``"telea"`` or ``"ns"``.

    Raises:
        ValueError: unknown ``algorithm`` or a radius that is not positive.
    """
    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if algorithm not in flags:
        raise ValueError(f"OpenCV algorithm must be one of {sorted(flags)}; got {algorithm!r}")
    if not radius > 0:
        raise ValueError(f"inpainting radius must be > 0 pixels; got {radius!r}")

    def inpaint(image, holes):
        holes = np.asarray(holes, bool)
        mask = holes.astype(np.uint8) * np.uint8(255)
        filled = cv2.inpaint(np.ascontiguousarray(image), mask, float(radius), flags[algorithm])
        return np.where(holes[..., None], filled, image)

    inpaint.__name__ = f"opencv_{algorithm}"
    return inpaint


def patchmatch_unavailable():
    """``None`` when PatchMatch can run, else the reason (a sentence naming the fix)."""
    try:
        # lazy: optional dependency (pypatchmatch)
        from patchmatch import patch_match
    except ImportError as err:
        if sys.version_info < (3, 11):
            return ("PatchMatch baseline skipped: pypatchmatch 2.x (a prebuilt library) needs "
                    f"Python 3.11 or newer; this is {platform.python_version()}")
        return (f"PatchMatch baseline skipped: the pypatchmatch package is not installed "
                f"({PATCHMATCH_INSTALL}; {err})")
    if not getattr(patch_match, "patchmatch_available", False):
        return ("PatchMatch baseline skipped: pypatchmatch is installed but its native "
                f"library did not load (reinstall it: {PATCHMATCH_INSTALL})")
    return None


def patchmatch_inpaint(patch_size=PATCHMATCH_PATCH_SIZE, seed=PATCHMATCH_SEED):
    """A method running pypatchmatch's ``inpaint`` (randomised search reseeded every call).

    Raises:
        ImportError: pypatchmatch cannot run (the message says why and how to install it).
        ValueError: a patch size that is not a positive integer.
    """
    if int(patch_size) != patch_size or patch_size < 1:
        raise ValueError(f"PatchMatch patch_size (a radius) must be an integer >= 1; got "
                         f"{patch_size!r}")
    reason = patchmatch_unavailable()
    if reason is not None:
        raise ImportError(reason)
    # lazy: optional dependency (pypatchmatch)
    from patchmatch import patch_match

    def inpaint(image, holes):
        holes = np.asarray(holes, bool)
        if not holes.any():
            return np.array(image, copy=True)
        patch_match.set_random_seed(seed)
        filled = patch_match.inpaint(np.ascontiguousarray(image),
                                     holes.astype(np.uint8) * np.uint8(255),
                                     patch_size=int(patch_size))
        return np.where(holes[..., None], filled, image)

    inpaint.__name__ = "patchmatch"
    return inpaint


def baseline_methods(radius=DEFAULT_RADIUS, patchmatch=True, log=print):
    """``{"OpenCV Telea": method, "OpenCV NS": method, "PatchMatch": method}`` in that order.

    PatchMatch is included when ``patchmatch`` is true and pypatchmatch can run; otherwise
    (if asked for) ``log`` receives the reason it was skipped and the dict has the two
    OpenCV methods only.
    """
    methods = {TELEA: opencv_inpaint("telea", radius),
               NAVIER_STOKES: opencv_inpaint("ns", radius)}
    if patchmatch:
        reason = patchmatch_unavailable()
        if reason is None:
            methods[PATCHMATCH] = patchmatch_inpaint()
        elif log is not None:
            log(reason)
    return methods
