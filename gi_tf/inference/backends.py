"""The two networks behind ``Inpainter``: an exported SavedModel's signatures, or a generator.

Both take uint8 tensors (``image`` [N,H,W,3], ``mask`` [N,H,W,1], >= 128 = hole) and run the
graph functions of :mod:`gi_tf.inference.preprocessing` as concrete functions, each traced
once with dynamic N, H, W (what ``gi-export`` saves, so results agree bit for bit).
"""

import numpy as np
import tensorflow as tf

from gi_tf.inference import preprocessing
from gi_tf.inference.windowed.run import supports_windows

OLD_EXPORT = ("this SavedModel was exported before {} was in the graph (no {!r} signature); "
              "export it again with gi-export")


class SavedModelBackend:
    """The signatures of a ``tf.saved_model.load``-ed export (``serving_default`` needed)."""

    generator = None

    def __init__(self, saved_model):
        self.saved_model = saved_model
        self.signatures = saved_model.signatures

    def serve(self, image, mask, window="auto", attention=True):
        """``{"inpainted", "attention"}`` uint8 tensors (the map always: the export has it)."""
        del attention  # unused: every signature returns the map
        if window == "auto":
            return self.signatures["serving_default"](image=image, mask=mask)
        if "serving_window" in self.signatures:
            return self.signatures["serving_window"](image=image, mask=mask,
                                                     window=tf.constant(window))
        if window == "off":  # an old export's serving_default is the whole image
            return self.signatures["serving_default"](image=image, mask=mask)
        raise ValueError(f"window={window!r}: " + OLD_EXPORT.format(
            "the windowed path", "serving_window") + ", or use window='auto'")

    def plan(self, mask, window):
        """The ``plan`` signature's outputs (per-sample tensors)."""
        if "plan" not in self.signatures:
            raise ValueError(OLD_EXPORT.format("the plan", "plan"))
        return self.signatures["plan"](mask=mask, window=tf.constant(window))


class GeneratorBackend:
    """A Keras generator with its weights, through the export's signature bodies.

    :attr:`functions` maps a key to its ``tf.function`` (input signature with None
    dimensions, traced once on first use and then called as its concrete function):
    ``("serve", window, attention)`` (:func:`~gi_tf.inference.preprocessing.inpaint_uint8`
    with that window mode; ``attention=False`` leaves the map out), ``"plan"``
    (:func:`~gi_tf.inference.preprocessing.plan_costs`) and ``"choice"`` (only the plan's
    ``windowed``: what ``"auto"`` takes, so that a request taking the whole image runs, and
    traces, only the whole-image function).
    """

    saved_model = None

    def __init__(self, generator, max_pixels, max_request_bytes=None):
        self.generator = generator
        self.max_pixels = max_pixels
        self.max_request_bytes = max_request_bytes
        self.functions = {}
        self._concrete = {}

    def _body(self, key):
        generator = self.generator
        if key == "plan":
            return (lambda mask, window: preprocessing.plan_costs(generator, mask, window),
                    [preprocessing.MASK_SPEC, preprocessing.WINDOW_SPEC])
        if key == "choice":
            return (lambda mask: preprocessing.plan_costs(
                generator, mask, "auto", keys=("windowed",))["windowed"],
                [preprocessing.MASK_SPEC])
        _, window, attention = key
        return (lambda image, mask: preprocessing.inpaint_uint8(
            generator, image, mask, max_pixels=self.max_pixels, window=window,
            max_request_bytes=self.max_request_bytes, attention=attention),
            [preprocessing.IMAGE_SPEC, preprocessing.MASK_SPEC])

    def function(self, key):
        """The concrete function of ``key`` (see the class docstring), traced on first use."""
        if key not in self._concrete:
            body, signature = self._body(key)
            self.functions[key] = tf.function(body, input_signature=signature,
                                              autograph=False)
            self._concrete[key] = self.functions[key].get_concrete_function()
        return self._concrete[key]

    def serve(self, image, mask, window="auto", attention=True):
        """``{"inpainted"[, "attention"]}`` uint8 tensors."""
        if window == "auto" and supports_windows(self.generator):
            windowed = self.function("choice")(mask).numpy()
            window = "auto" if np.any(windowed) else "off"
        return self.function(("serve", window, attention))(image, mask)

    def plan(self, mask, window):
        return self.function("plan")(mask, tf.constant(window))
