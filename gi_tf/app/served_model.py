"""Which model ``gi-app`` serves, and what the page says about it.

* ``--model=PATH``: an exported SavedModel (a version directory or an export base) or a
  gi_tf checkpoint (prefix or directory). A path that holds neither is an error: the user
  asked for it by name.
* no ``--model``: the quickstart model that ``gi-demo`` trains (looked for under
  :data:`QUICKSTART_DIR`, SavedModel first, then checkpoint); if there is none, a freshly
  initialised generator, with a warning on the page saying how to get a real model.
  The page always works, so a first-time user sees the whole flow at once.
"""

import dataclasses
import os

from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS

# gi-demo's default --output_dir (gi_tf/cli/demo.py): checkpoints in attention/seed_<s>/
# and no_attention/seed_<s>/, the SavedModel in export/<version>/ (preferred; see find_model).
QUICKSTART_DIR = "demo_out"
_SEARCH_DEPTH = 2

HOW_TO_GET_A_MODEL = (
    "To get a model: run `gi-demo` (trains the small CPU quickstart model on built-in "
    "repeating patterns into `demo_out/`, then `gi-app` finds it), train your own with "
    "`gi-train`, "
    "or convert the authors' released DeepFill v1 checkpoints (Places2, CelebA-HQ, "
    "ImageNet; CC BY-NC 4.0) with `gi-import-tf1 --checkpoint=<downloaded dir> "
    "--output=<dir>`; then start `gi-app --model=<dir>`.")


@dataclasses.dataclass
class ServedModel:
    """The inpainter the page uses and how to describe it.

    Attributes:
        inpainter: a :class:`gi_tf.inference.inpainter.Inpainter`.
        kind: ``"saved_model"``, ``"checkpoint"`` or ``"untrained"``.
        source: the checkpoint prefix or SavedModel directory it was loaded from (None
            when untrained).
        trained: False for a freshly initialised generator.
        quickstart: True when found under the quickstart directory without ``--model``.
    """

    inpainter: object
    kind: str
    source: str = None
    trained: bool = True
    quickstart: bool = False

    def banner(self):
        """Markdown for the top of the page: which model, and a warning when it is weak."""
        if not self.trained:
            return ("**Warning: no trained model was found, so this page uses a randomly "
                    "initialised network. It shows the whole flow, but the filled region "
                    "will be noise.** " + HOW_TO_GET_A_MODEL)
        what = {"saved_model": "SavedModel", "checkpoint": "checkpoint"}[self.kind]
        text = f"Model: {what} `{self.source}`."
        if self.quickstart:
            text += (" This is the quickstart model from `gi-demo`, trained for minutes on "
                     "repeating patterns: expect rough fills on photographs. "
                     + HOW_TO_GET_A_MODEL)
        return text


def model_kind(path):
    """``"saved_model"``, ``"checkpoint"`` or None for what is at ``path``."""
    # lazy: TensorFlow not needed for gi-app --help
    from gi_tf.inference.inpainter import is_saved_model
    from gi_tf.models.checkpoints import resolve_checkpoint  # lazy: TensorFlow start-up

    if is_saved_model(path):
        return "saved_model"
    try:
        resolve_checkpoint(path)
    except FileNotFoundError:
        return None
    return "checkpoint"


def find_model(directory, depth=_SEARCH_DEPTH):
    """``(kind, path)`` of the first model in ``directory`` or below, or None.

    A SavedModel anywhere within ``depth`` levels wins over a checkpoint (it is what
    ``gi-demo`` exports for serving); within a kind the shallowest, then the first by
    name, is taken (so ``gi-demo``'s ``attention/seed_0`` before ``no_attention/``).
    """
    if not os.path.isdir(directory):
        return None
    levels = [[directory]]
    for _ in range(depth):
        children = [os.path.join(parent, name) for parent in levels[-1]
                    for name in sorted(os.listdir(parent))
                    if os.path.isdir(os.path.join(parent, name))]
        levels.append(children)
    found = [(model_kind(path), path) for level in levels for path in level]
    for wanted in ("saved_model", "checkpoint"):
        for kind, path in found:
            if kind == wanted:
                return kind, path
    return None


def chunk_bound(attention_chunk_elements):
    """The attention's chunk bound gi-app builds with: the flag's value, or (None or 0) the
    Inpainter's default, :data:`gi_tf.inference.DEFAULT_ATTENTION_CHUNK_ELEMENTS`."""
    return attention_chunk_elements or DEFAULT_ATTENTION_CHUNK_ELEMENTS


def load_inpainter(kind, path, attention_chunk_elements=None):
    """An :class:`~gi_tf.inference.inpainter.Inpainter` for a SavedModel or checkpoint.

    ``attention_chunk_elements`` (checkpoints only): None = the Inpainter's default bound.
    """
    # lazy: TensorFlow not needed for gi-app --help
    from gi_tf.inference.inpainter import Inpainter

    if kind == "saved_model":
        return Inpainter.load(path)
    return Inpainter.from_checkpoint(
        path, attention_chunk_elements=chunk_bound(attention_chunk_elements))


def untrained_inpainter(attention_chunk_elements=None):
    """An Inpainter around a freshly initialised generator (Keras' seeded initialisers)."""
    # lazy: TensorFlow not needed for gi-app --help
    from gi_tf.inference.inpainter import Inpainter
    from gi_tf.models.generator import build_generator  # lazy: TensorFlow start-up

    generator = build_generator(attention_chunk_elements=chunk_bound(attention_chunk_elements))
    return Inpainter.from_generator(generator)


def choose_model(model_path=None, quickstart_dir=QUICKSTART_DIR, attention_chunk_elements=None):
    """The :class:`ServedModel` for ``gi-app``'s ``--model`` (None = quickstart or untrained).

    Raises:
        FileNotFoundError: ``model_path`` is given but holds no SavedModel or checkpoint.
    """
    if model_path:
        kind = model_kind(model_path)
        if kind is None:
            raise FileNotFoundError(
                f"--model={model_path!r} is neither a SavedModel (a directory with "
                "saved_model.pb, or an export base with integer version directories) nor "
                "a gi_tf checkpoint (a directory written by gi-train / gi-import-tf1, or a "
                "prefix such as model_dir/ckpt-100)")
        inpainter = load_inpainter(kind, model_path, attention_chunk_elements)
        return ServedModel(inpainter, kind=kind, source=inpainter.source or model_path)
    found = find_model(quickstart_dir) if quickstart_dir else None
    if found is not None:
        kind, path = found
        inpainter = load_inpainter(kind, path, attention_chunk_elements)
        return ServedModel(inpainter, kind=kind, source=inpainter.source or path,
                           quickstart=True)
    return ServedModel(untrained_inpainter(attention_chunk_elements), kind="untrained",
                       trained=False)
