"""Classical inpainting baselines: OpenCV's ``cv2.inpaint`` as evaluation methods.

A *method* (see :mod:`gi_tf.evaluation.evaluate`) is a callable ``method(image, holes)`` taking
uint8 RGB ``[H, W, 3]`` and bool ``[H, W]`` (True = hole) and returning uint8 RGB
``[H, W, 3]``. Two baselines:

* ``"OpenCV Telea"``: ``cv2.INPAINT_TELEA``, fast marching (Telea, 2004);
* ``"OpenCV NS"``: ``cv2.INPAINT_NS``, Navier-Stokes (Bertalmio, Bertozzi, Sapiro, 2001).

Both run on the very same uint8 RGB image and mask as the network, with a 3 px
neighbourhood radius by default (the value of OpenCV's own inpainting sample), and
their output is pasted into the hole only, so known pixels stay bit-exact.

Example:
    >>> image = np.full((16, 16, 3), 90, np.uint8); holes = np.zeros((16, 16), bool)
    >>> holes[4:8, 4:8] = True
    >>> baseline_methods()["OpenCV Telea"](image, holes).shape
    (16, 16, 3)
"""

import numpy as np

DEFAULT_RADIUS = 3
TELEA = "OpenCV Telea"
NAVIER_STOKES = "OpenCV NS"


def opencv_inpaint(algorithm="telea", radius=DEFAULT_RADIUS):
    """A method running ``cv2.inpaint`` with ``algorithm`` ``"telea"`` or ``"ns"``.

    Raises:
        ValueError: unknown ``algorithm`` or a radius that is not positive.
    """
    import cv2

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


def baseline_methods(radius=DEFAULT_RADIUS):
    """``{"OpenCV Telea": method, "OpenCV NS": method}`` in that order."""
    return {TELEA: opencv_inpaint("telea", radius), NAVIER_STOKES: opencv_inpaint("ns", radius)}
