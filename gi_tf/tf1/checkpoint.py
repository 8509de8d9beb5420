"""Import the authors' released TF1 DeepFill v1 checkpoints into :class:`InpaintGenerator`.

Data flow: locate the checkpoint prefix (:func:`resolve_tf1_checkpoint`) -> read every
``inpaint_net/`` variable with ``tf.train.load_checkpoint`` (no TF1 graph code) and
classify the rest (:func:`read_tf1_checkpoint`) -> check every name and shape against
the generator's name table, convert BGR -> RGB and assign
(:func:`assign_tf1_weights`; names and the conversion live in :mod:`gi_tf.tf1.names`)
-> compare with an independent path (:func:`self_check`). ``gi-import-tf1`` then saves
the generator with :func:`gi_tf.models.checkpoints.save_generator`.

Critic variables, optimizer slots and counters are reported and ignored. Missing,
unexpected or misshaped generator variables raise one ``ValueError`` naming all of
them, before anything is assigned.

Example (see also ``gi-import-tf1``)::

    generator, weights = import_tf1_generator("model_logs/release_places2_256")
    print(weights.summary())
    coarse, refined, offsets = generator(image_rgb, holes)   # RGB in, RGB out
"""

import dataclasses
import os
import re

import numpy as np
import tensorflow as tf

from gi_tf.models.checkpoints import READ_ERRORS
from gi_tf.models.generator import build_generator
from gi_tf.tf1 import names as tf1_names
from gi_tf.utils import files

INDEX_FILE = "checkpoint"
# Google Drive serves the index file of the released folders as "checkpoint.txt".
RENAMED_INDEX_FILE = "checkpoint.txt"
_FILE_SUFFIX = re.compile(r"\.(index|meta|data-\d+-of-\d+)$")


# -- locating the checkpoint --------------------------------------------------------------


def _is_prefix(path):
    return files.isfile(path + ".index")


def _prefix_from_index(directory, index_name):
    """The prefix an index file names, also when the directory was moved or renamed.

    The TF1 ``Saver`` writes absolute paths of the machine it ran on, so the file name
    it names is looked for next to the index first (a copied or downloaded directory),
    then at the path as written.
    """
    try:
        state = tf.train.get_checkpoint_state(directory, latest_filename=index_name)
    except ValueError:  # an index without model_checkpoint_path
        return None
    if state is None:
        return None
    named = state.model_checkpoint_path
    beside_index = files.join(directory, re.split(r"[\\/]", named)[-1])
    for candidate in (beside_index, named):
        if _is_prefix(candidate):
            return candidate
    return None


def _prefixes_in(directory):
    return sorted(name[: -len(".index")] for name in files.listdir(directory)
                  if name.endswith(".index"))


def _resolve_directory(directory):
    for index_name in (INDEX_FILE, RENAMED_INDEX_FILE):
        if files.isfile(files.join(directory, index_name)):
            prefix = _prefix_from_index(directory, index_name)
            if prefix is not None:
                return prefix
    found = _prefixes_in(directory)
    if len(found) == 1:  # no usable index, but only one snapshot: take it
        return files.join(directory, found[0])
    hint = (f" It holds several snapshots {found}; pass one prefix, e.g. "
            f"{files.join(directory, found[-1])!r}." if found else "")
    raise FileNotFoundError(
        f"No TF1 checkpoint found in directory {directory!r}: expected a '{INDEX_FILE}' "
        f"(or '{RENAMED_INDEX_FILE}') index file naming a prefix whose .index file "
        f"exists.{hint}")


def resolve_tf1_checkpoint(path):
    """The checkpoint prefix (``.../snap-0``) of a TF1 checkpoint path.

    Accepts a directory with a ``checkpoint`` index file, a directory whose index was
    renamed ``checkpoint.txt`` (the Google Drive download; read where it is, nothing is
    renamed), a directory holding exactly one snapshot, the index file itself, a bare
    prefix, or one of its files (``snap-0.index``, ``.meta``, ``.data-00000-of-00001``).

    Raises:
        FileNotFoundError: naming ``path`` when no checkpoint can be located.
    """
    path = os.fspath(path)
    if files.isfile(path) and files.basename(path) in (INDEX_FILE, RENAMED_INDEX_FILE):
        path = files.dirname(files.abspath(path))
    if files.isdir(path):
        return _resolve_directory(path)
    if _is_prefix(path):
        return path
    stripped = _FILE_SUFFIX.sub("", path)
    if stripped != path and _is_prefix(stripped):
        return stripped
    raise FileNotFoundError(
        f"TF1 checkpoint {path!r} not found: give the released model directory (with "
        f"'{INDEX_FILE}' or '{RENAMED_INDEX_FILE}') or a prefix such as "
        "release_places2_256/snap-0 (with a .index file beside it)")


# -- reading ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TF1Weights:
    """The variables of a TF1 checkpoint, as the importer sees them.

    Attributes:
        prefix: the checkpoint prefix they were read from.
        generator: ``{name: array}`` for every ``inpaint_net/`` variable that is not an
            optimizer slot, in the released (BGR) layout; floats as float32.
        critic: sorted names of ``discriminator/`` variables (ignored).
        other: sorted names of optimizer slots, counters and the rest (ignored).
    """

    prefix: str
    generator: dict
    critic: tuple
    other: tuple

    @property
    def parameters(self):
        return int(sum(np.size(a) for a in self.generator.values()))

    def summary(self):
        return (f"read {len(self.generator)} generator variables ({self.parameters:,} "
                f"parameters) from {self.prefix}; ignored {len(self.critic)} critic and "
                f"{len(self.other)} other variables (optimizer state, counters)")


def read_tf1_checkpoint(path):
    """Read a TF1 checkpoint's generator variables with ``tf.train.load_checkpoint``.

    Args:
        path: anything :func:`resolve_tf1_checkpoint` accepts.

    Returns:
        :class:`TF1Weights`.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: the files exist but cannot be read as a TF checkpoint.
    """
    prefix = resolve_tf1_checkpoint(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        generator_names, critic, other = tf1_names.split_names(shapes)
        generator = {}
        for name in generator_names:
            value = np.asarray(reader.get_tensor(name))
            if np.issubdtype(value.dtype, np.floating):
                value = value.astype(np.float32)
            generator[name] = value
    except READ_ERRORS as err:  # also IndexError: a truncated .data shard
        raise ValueError(f"Cannot read TF1 checkpoint {prefix!r}: {err}") from err
    return TF1Weights(prefix=prefix, generator=generator, critic=critic, other=other)


# -- checking and assigning ---------------------------------------------------------------


def check_tf1_weights(arrays, table, source="<weights>"):
    """Raise one ``ValueError`` naming every missing, unexpected and misshaped variable.

    Args:
        arrays: ``{TF1 name: array}`` read from the checkpoint.
        table: ``{TF1 name: variable}`` (:func:`gi_tf.tf1.names.tf1_name_table`).
        source: where ``arrays`` came from, for the message.
    """
    missing = sorted(set(table) - set(arrays))
    unexpected = sorted(set(arrays) - set(table))
    misshaped = sorted(
        f"{name}: checkpoint {list(np.shape(arrays[name]))}, expected {list(table[name].shape)}"
        for name in set(arrays) & set(table)
        if tuple(np.shape(arrays[name])) != tuple(table[name].shape))
    if not (missing or unexpected or misshaped):
        return
    if not arrays:  # not a DeepFill v1 snapshot at all: listing all 84 names says nothing
        raise ValueError(
            f"TF1 checkpoint {source!r} does not match the DeepFill v1 generator: it has no "
            f"'{tf1_names.GENERATOR_SCOPE}/' variables at all (is it a DeepFill v1 snapshot? "
            "A gi_tf checkpoint needs no import: give it to gi-inpaint, gi-export or "
            "Inpainter.from_checkpoint as it is)")
    lines = [f"TF1 checkpoint {source!r} does not match the DeepFill v1 generator:"]
    for title, names in (("missing", missing), ("unexpected", unexpected),
                         ("misshaped", misshaped)):
        if names:
            lines.append(f"  {len(names)} {title} variable(s):")
            lines.extend(f"    {name}" for name in names)
    if misshaped:
        lines.append("  (DeepFill v2 releases use the same scope names with other shapes: "
                     "48-channel gated convolutions. gi_tf implements v1 only; take the v1 "
                     "models linked from the v1.0.0 README.)")
    raise ValueError("\n".join(lines))


def assign_tf1_weights(generator, arrays, bgr_to_rgb=True, source="<weights>"):
    """Assign ``{TF1 name: array}`` to a generator after checking every name and shape.

    Args:
        generator: an :class:`InpaintGenerator` with attention (built here if needed).
        arrays: generator arrays in the released (BGR) layout.
        bgr_to_rgb: convert to the RGB convention (default). False keeps the released
            BGR behaviour (the self-check's independent path uses it).
        source: where the arrays came from, for error messages.

    Raises:
        ValueError: listing every missing, unexpected and misshaped variable; nothing
            is assigned in that case.
    """
    if not generator.built:
        generator.build((None, None, None, 3), (None, None, None, 1))
    table = tf1_names.tf1_name_table(generator)
    check_tf1_weights(arrays, table, source)
    if bgr_to_rgb:
        arrays = tf1_names.swap_bgr_rgb(arrays)
    for name, variable in table.items():
        variable.assign(np.asarray(arrays[name], variable.dtype))


def import_tf1_generator(path, generator=None, bgr_to_rgb=True):
    """Load a released TF1 checkpoint into a generator (RGB in, RGB out by default).

    Args:
        path: anything :func:`resolve_tf1_checkpoint` accepts.
        generator: an :class:`InpaintGenerator` with attention; default: a new one
            with the default :class:`gi_tf.models.config.ModelConfig`.
        bgr_to_rgb: see :func:`assign_tf1_weights`.

    Returns:
        ``(generator, weights)``, ``weights`` the :class:`TF1Weights` read (BGR).

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: unreadable files, or missing, unexpected or misshaped generator
            variables (all named).
    """
    weights = read_tf1_checkpoint(path)
    if generator is None:
        generator = build_generator()
    assign_tf1_weights(generator, weights.generator, bgr_to_rgb=bgr_to_rgb,
                       source=weights.prefix)
    return generator, weights


# -- numeric self-check -------------------------------------------------------------------


def synthetic_image_and_holes(height=256, width=256, batch=2):
    """A deterministic test input: smooth RGB patterns in [-1, 1] and a box hole.

    Returns:
        ``(image float32 [batch, H, W, 3], holes float32 [batch, H, W, 1])``; every
        sample has the same hole (the original's one mask per batch). The hole edges
        (rows H/4 + 1 .. 3H/4 + 1, columns W/3 .. 2W/3) do not sit on the 4-pixel grid,
        so the align-corners mask resizing matters.
    """
    rows = np.linspace(0.0, 1.0, height)[:, None]
    cols = np.linspace(0.0, 1.0, width)[None, :]
    samples = []
    for i in range(batch):
        phase = 0.7 * i
        red = np.sin(6.0 * np.pi * rows + phase) * np.cos(4.0 * np.pi * cols)
        green = 2.0 * cols - 1.0 + 0.3 * np.sin(10.0 * np.pi * (rows + cols) + phase)
        blue = np.where((np.floor(8 * rows) + np.floor(8 * cols)) % 2 == 0, 0.6, -0.6) * (1 - rows)
        samples.append(np.stack([red, green, blue], axis=-1))
    image = np.clip(np.stack(samples), -1.0, 1.0).astype(np.float32)
    holes = np.zeros((batch, height, width, 1), np.float32)
    holes[:, height // 4 + 1: 3 * height // 4 + 1, width // 3: 2 * width // 3] = 1.0
    return image, holes


@dataclasses.dataclass(frozen=True)
class SelfCheck:
    """Imported model vs an independent path, on :func:`synthetic_image_and_holes`.

    Attributes:
        coarse_max_abs_diff: max |difference| of the stage-1 outputs ([-1, 1] scale).
        refined_max_abs_diff: max |difference| of the stage-2 outputs ([-1, 1] scale).
        offsets_agreement: fraction of attention offsets that agree.
        shape: the input shape used.
    """

    coarse_max_abs_diff: float
    refined_max_abs_diff: float
    offsets_agreement: float
    shape: tuple

    @property
    def max_abs_diff(self):
        return max(self.coarse_max_abs_diff, self.refined_max_abs_diff)

    def summary(self):
        return (f"Self-check on {self.shape} (imported RGB model vs the released BGR weights "
                "with the literal attention on channel-reversed input): max |diff| coarse "
                f"{self.coarse_max_abs_diff:.3g}, refined {self.refined_max_abs_diff:.3g} "
                f"([-1, 1] scale; {self.max_abs_diff * 127.5:.3g} uint8 levels); attention "
                f"offsets agree at {100 * self.offsets_agreement:.2f}% of positions.")


def self_check(generator, arrays, height=256, width=256, batch=2):
    """Compare the imported (RGB) generator with the released weights run independently.

    The independent path is a second generator with the *literal* attention
    (``extract_patches`` -> ``conv`` -> ``conv_transpose``, one sample at a time)
    holding the released BGR weights unconverted; it gets the channel-reversed input
    and its outputs are reversed back. Agreement checks the name table, the BGR->RGB
    conversion and the attention formulation at once.

    Args:
        generator: the imported :class:`InpaintGenerator` (RGB convention).
        arrays: ``{TF1 name: array}`` in the released (BGR) layout, or :class:`TF1Weights`.
        height, width: input size (multiples of 8).
        batch: number of samples.

    Returns:
        :class:`SelfCheck`.
    """
    if isinstance(arrays, TF1Weights):
        arrays = arrays.generator
    reference = build_generator(attention_implementation="literal")
    assign_tf1_weights(reference, arrays, bgr_to_rgb=False)
    image, holes = synthetic_image_and_holes(height, width, batch)
    coarse, refined, offsets = (np.asarray(t) for t in generator(image, holes))
    ref_coarse, ref_refined, ref_offsets = (
        np.asarray(t) for t in reference(image[..., ::-1], holes))
    return SelfCheck(
        coarse_max_abs_diff=float(np.max(np.abs(coarse - ref_coarse[..., ::-1]))),
        refined_max_abs_diff=float(np.max(np.abs(refined - ref_refined[..., ::-1]))),
        offsets_agreement=float(np.mean(np.all(offsets == ref_offsets, axis=-1))),
        shape=tuple(image.shape),
    )
