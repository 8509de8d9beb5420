"""The authors' DeepFill v1 graph, built from the user's checkouts under ``tf.compat.v1``.

:func:`load` reads the user's ``inpaint_model.py``, ``inpaint_ops.py``, ``inpaint.yml``
(JiahuiYu/generative_inpainting ``v1.0.0``) and neuralgym's ops and executes them
unchanged with the stand-ins of :mod:`gi_tf.parity.standins`; nothing of theirs is part of
gi_tf. The builders (:func:`build_generator`, :func:`build_training_step`, ...) call the
authors' functions in a fresh ``tf.Graph`` and return an :class:`OriginalGraph`: graph,
session, named feeds and fetches (``run``, ``make_callable``). Weights are set by TF1 name
from ``weights`` or drawn from ``seed`` (:func:`gi_tf.parity.weights.draw_weights`); the
training step's random ops can be replaced by feeding ``top``, ``left``, ``mask``,
``alpha_local`` and ``alpha_global``.
"""

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import subprocess
import sys
import types
import warnings

import numpy as np
import tensorflow as tf

from gi_tf.parity import standins
from gi_tf.parity import weights as weights_lib

ORIGINAL_FILES = ("inpaint_model.py", "inpaint_ops.py", "inpaint.yml")
NEURALGYM_FILES = ("neuralgym/ops/layers.py", "neuralgym/ops/gan_ops.py",
                   "neuralgym/ops/loss_ops.py")
ORIGINAL_TAG = "v1.0.0"
# Real TensorFlow modules the authors' files import by their full path; imported before
# ``sys.modules["tensorflow"]`` is pointed at the stand-in so that the lookups hit.
_TF_SUBMODULES = ("tensorflow.python.training.moving_averages",
                  "tensorflow.python.ops.control_flow_ops",
                  "tensorflow.python.framework.ops")


def hide_tf1_notices():
    """Hide the deprecation notices and ``tf.layers`` warnings the authors' TF 1 code
    triggers on every graph it builds (TensorFlow's logger to ERROR, two warning filters)."""
    tf.get_logger().setLevel("ERROR")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*tf.layers.*")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*deprecated.*")


class CheckoutError(ValueError):
    """A checkout directory is missing or is not the expected repository."""


@dataclasses.dataclass(frozen=True)
class Original:
    """The loaded modules of the authors' code and the released configuration.

    Attributes:
        inpaint_model, inpaint_ops: the checkout's modules.
        gan_ops, layers, loss_ops: neuralgym's modules.
        config_values: ``inpaint.yml`` as a dict.
        original_dir, neuralgym_dir: absolute checkout paths.
        commits: ``{"generative_inpainting": sha or None, "neuralgym": sha or None}``.
    """

    inpaint_model: types.ModuleType
    inpaint_ops: types.ModuleType
    gan_ops: types.ModuleType
    layers: types.ModuleType
    loss_ops: types.ModuleType
    config_values: dict
    original_dir: str
    neuralgym_dir: str
    commits: dict

    def config(self, **overrides):
        """The released config (``inpaint.yml``) with ``overrides``, as attributes."""
        values = dict(self.config_values)
        unknown = sorted(set(overrides) - set(values))
        if unknown:
            raise ValueError(f"not in inpaint.yml: {unknown}")
        values.update(overrides)
        return types.SimpleNamespace(**values)


def check_checkouts(original_dir, neuralgym_dir):
    """Raise :class:`CheckoutError` naming what is missing; returns absolute paths."""
    problems = []
    for flag, directory, files, repo in (
            ("--original", original_dir, ORIGINAL_FILES,
             f"JiahuiYu/generative_inpainting at tag {ORIGINAL_TAG}"),
            ("--neuralgym", neuralgym_dir, NEURALGYM_FILES, "JiahuiYu/neuralgym")):
        if not directory:
            problems.append(f"{flag} is required: the directory of a checkout of {repo}")
            continue
        if not os.path.isdir(directory):
            problems.append(f"{flag}={directory}: no such directory (a checkout of {repo})")
            continue
        missing = [name for name in files if not os.path.isfile(os.path.join(directory, name))]
        if missing:
            problems.append(f"{flag}={directory} is not a checkout of {repo}: missing "
                            + ", ".join(missing))
    if problems:
        raise CheckoutError("; ".join(problems))
    return os.path.abspath(original_dir), os.path.abspath(neuralgym_dir)


def git_commit(directory):
    """The checkout's ``HEAD`` commit, or None (not a git work tree, or no git)."""
    try:
        result = subprocess.run(["git", "-C", directory, "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and len(sha) == 40 else None


def _read_yaml(path):
    try:
        # lazy: optional dependency (the [parity] extra)
        import yaml
    except ImportError as error:
        raise ImportError("gi-parity reads inpaint.yml with PyYAML: pip install "
                          "'gi_tf[parity]' (or pip install pyyaml)") from error
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _exec_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _modules(entries):
    """Put ``entries`` into ``sys.modules`` (and whatever the block adds); restore after."""
    before = dict(sys.modules)
    sys.modules.update(entries)
    try:
        yield
    finally:
        for name in list(sys.modules):
            if name not in before:
                del sys.modules[name]
            elif sys.modules[name] is not before[name]:
                sys.modules[name] = before[name]


_LOADED = {}


def load(original_dir, neuralgym_dir):
    """Load the authors' modules from the two checkouts (cached per pair of paths).

    Raises:
        CheckoutError: a directory is missing or lacks the expected files.
        ImportError: tf-keras or PyYAML is not installed (the ``[parity]`` extra).
    """
    original_dir, neuralgym_dir = check_checkouts(original_dir, neuralgym_dir)
    key = (original_dir, neuralgym_dir)
    if key in _LOADED:
        return _LOADED[key]
    tf1 = standins.tf1_module()
    try:
        tf1.layers  # import tf-keras now, while "tensorflow" is still TensorFlow
    except ImportError:
        pass  # raised again, naming the [parity] extra, where the checkout uses tf.layers
    config_values = _read_yaml(os.path.join(original_dir, "inpaint.yml"))
    for name in _TF_SUBMODULES:
        importlib.import_module(name)
    entries = {"tensorflow": tf1, **standins.contrib_modules(),
               **standins.neuralgym_package(neuralgym_dir)}
    numpy_state = np.random.get_state()  # inpaint_ops.py seeds NumPy's global generator
    try:
        with _modules(entries):
            ops_package = sys.modules["neuralgym.ops"]
            ops_dir = os.path.join(neuralgym_dir, "neuralgym", "ops")
            for name in ("layers", "loss_ops", "gan_ops"):
                setattr(ops_package, name,
                        _exec_file(f"neuralgym.ops.{name}", os.path.join(ops_dir, f"{name}.py")))
            inpaint_ops = _exec_file("inpaint_ops", os.path.join(original_dir, "inpaint_ops.py"))
            inpaint_model = _exec_file("inpaint_model",
                                       os.path.join(original_dir, "inpaint_model.py"))
    finally:
        np.random.set_state(numpy_state)
    original = Original(
        inpaint_model=inpaint_model, inpaint_ops=inpaint_ops, gan_ops=ops_package.gan_ops,
        layers=ops_package.layers, loss_ops=ops_package.loss_ops,
        config_values=config_values, original_dir=original_dir, neuralgym_dir=neuralgym_dir,
        commits={"generative_inpainting": git_commit(original_dir),
                 "neuralgym": git_commit(neuralgym_dir)})
    _LOADED[key] = original
    return original


# -- built graphs --------------------------------------------------------------------------


class OriginalGraph:
    """A built graph of the authors' code with its session.

    Attributes:
        graph: the ``tf.Graph``.
        session: a ``tf.compat.v1.Session`` on it (variables initialised and set).
        feeds: ``{name: tensor}`` that :meth:`run` accepts as keyword arguments.
        fetches: ``{name: tensor, op or list of tensors}``.
        variables: ``{TF1 name: variable}`` of every global variable.
    """

    def __init__(self, graph, session, feeds, fetches, variables):
        self.graph = graph
        self.session = session
        self.feeds = feeds
        self.fetches = fetches
        self.variables = variables

    def _feed_dict(self, inputs):
        unknown = sorted(set(inputs) - set(self.feeds))
        if unknown:
            raise ValueError(f"unknown feeds {unknown}; this graph takes {sorted(self.feeds)}")
        return {self.feeds[name]: value for name, value in inputs.items() if value is not None}

    def run(self, names=None, **inputs):
        """``{name: numpy value}`` of the fetches ``names`` (default all) for ``inputs``."""
        names = list(self.fetches) if names is None else list(names)
        values = self.session.run([self.fetches[name] for name in names],
                                  feed_dict=self._feed_dict(inputs))
        return dict(zip(names, values))

    def make_callable(self, names, feed_names=()):
        """``session.make_callable``: positional feeds ``feed_names`` -> fetches ``names``."""
        fetch = [self.fetches[name] for name in names]
        return self.session.make_callable(fetch, feed_list=[self.feeds[n] for n in feed_names])

    def assign(self, arrays):
        """Set variables by TF1 name (every name must exist with the variable's shape)."""
        with self.graph.as_default():
            for name, value in arrays.items():
                variable = self.variables[name]
                value = np.asarray(value, variable.dtype.as_numpy_dtype)
                if tuple(value.shape) != tuple(variable.shape.as_list()):
                    raise ValueError(f"{name}: shape {value.shape}, variable {variable.shape}")
                variable.load(value, self.session)

    def weights(self, names=None):
        """``{TF1 name: numpy array}`` of the variables ``names`` (default all)."""
        names = sorted(self.variables) if names is None else list(names)
        return dict(zip(names, self.session.run([self.variables[n] for n in names])))

    def save_checkpoint(self, prefix, names=None):
        """Write the variables ``names`` (default all) with a TF1 ``Saver``; returns the path."""
        with self.graph.as_default():
            var_list = {n: self.variables[n] for n in (names or sorted(self.variables))}
            saver = tf.compat.v1.train.Saver(var_list=var_list)
            return saver.save(self.session, prefix, write_meta_graph=False)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _finish(graph, feeds, fetches, weights, seed):
    """Initialise, set weights (given or drawn by name), and wrap in an OriginalGraph."""
    with graph.as_default():
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
        init = tf.compat.v1.global_variables_initializer()
    session = tf.compat.v1.Session(graph=graph)
    session.run(init)
    built = OriginalGraph(graph, session, feeds, fetches, variables)
    trainable = {v.op.name for v in graph.get_collection(
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)}
    if weights is None:
        shapes = {name: tuple(variables[name].shape.as_list()) for name in sorted(trainable)}
        weights = weights_lib.draw_weights(shapes, seed)
    built.assign(weights)
    return built


def offsets_of_flow(flow):
    """The relative offsets int32 ``[B, h, w, 2]`` behind ``contextual_attention``'s flow image.

    The released op returns only a colour image of its offsets (``flow_to_image_tf``, a
    ``py_func``); the offsets are that ``py_func``'s input, found by walking back the graph.
    """
    seen, queue = set(), [flow.op]
    while queue:
        op = queue.pop(0)
        if op.type in ("PyFunc", "PyFuncStateless"):
            return op.inputs[0]
        for tensor in op.inputs:
            if tensor.op.name not in seen:
                seen.add(tensor.op.name)
                queue.append(tensor.op)
    raise ValueError(f"no py_func behind {flow.name}: not the released contextual_attention")


def build_attention(original, batch, height, width, channels, rate=2, fuse=True,
                    with_mask=True, ksize=3, softmax_scale=10.0):
    """The released ``contextual_attention`` op on placeholders.

    Feeds: ``foreground``, ``background`` float ``[batch, height, width, channels]`` and
    (``with_mask``) ``mask`` ``[1, height, width, 1]`` (1 = hole; the released op uses one
    mask for the batch). Fetches: ``y``, ``offsets`` (relative, int32), ``flow``.
    """
    graph = tf.Graph()
    with graph.as_default():
        shape = [batch, height, width, channels]
        f = tf.compat.v1.placeholder(tf.float32, shape, name="foreground")
        b = tf.compat.v1.placeholder(tf.float32, shape, name="background")
        feeds = {"foreground": f, "background": b}
        mask = None
        if with_mask:
            mask = tf.compat.v1.placeholder(tf.float32, [1, height, width, 1], name="mask")
            feeds["mask"] = mask
        y, flow = original.inpaint_ops.contextual_attention(
            f, b, mask, ksize=ksize, stride=1, rate=rate, softmax_scale=softmax_scale,
            training=False, fuse=fuse)
        fetches = {"y": y, "offsets": offsets_of_flow(flow), "flow": flow}
    return _finish(graph, feeds, fetches, {}, 0)


def build_generator(original, batch, height, width, weights=None, seed=0):
    """``InpaintCAModel.build_inpaint_net`` on placeholders (inference, ``training=False``).

    Feeds: ``image`` float ``[batch, height, width, 3]`` **BGR** in [-1, 1] (hole pixels
    are zeroed here, as ``build_server_graph``), ``mask`` ``[1, height, width, 1]``.
    Fetches: ``coarse`` (x_stage1), ``refined`` (x_stage2), ``offsets`` (relative, int32,
    1/8 resolution), ``flow`` (their offset image).
    """
    graph = tf.Graph()
    with graph.as_default():
        image = tf.compat.v1.placeholder(tf.float32, [batch, height, width, 3], name="image")
        mask = tf.compat.v1.placeholder(tf.float32, [1, height, width, 1], name="mask")
        model = original.inpaint_model.InpaintCAModel()
        incomplete = image * (1.0 - mask)
        x1, x2, flow = model.build_inpaint_net(incomplete, mask, config=None, reuse=False,
                                               training=False)
        fetches = {"coarse": x1, "refined": x2, "offsets": offsets_of_flow(flow), "flow": flow}
    return _finish(graph, {"image": image, "mask": mask}, fetches, weights, seed)


def build_server(original, height, width, weights=None, seed=0):
    """``test.py``: ``build_server_graph`` and its uint8 conversion, for one image.

    Feeds: ``input_image`` float ``[1, height, 2 * width, 3]`` = ``concat([image_bgr,
    mask_image], axis=2)`` of uint8 values, as ``test.py`` builds it (height and width
    already cropped to multiples of 8; see :func:`server_input`). Fetches: ``result``
    uint8 ``[1, height, width, 3]`` = ``saturate_cast(reverse((x + 1) * 127.5))``, i.e.
    the RGB image ``test.py`` writes (it hands ``result[0][:, :, ::-1]`` to ``cv2``).
    """
    graph = tf.Graph()
    with graph.as_default():
        input_image = tf.compat.v1.placeholder(tf.float32, [1, height, 2 * width, 3],
                                               name="input_image")
        model = original.inpaint_model.InpaintCAModel()
        output = model.build_server_graph(input_image)
        output = (output + 1.0) * 127.5
        output = tf.reverse(output, [-1])
        output = tf.saturate_cast(output, tf.uint8)
    return _finish(graph, {"input_image": input_image}, {"result": output}, weights, seed)


def server_input(image_bgr, mask_image, grid=8):
    """``test.py``'s input: crop both to multiples of ``grid`` (top-left), concat on width."""
    image_bgr, mask_image = np.asarray(image_bgr), np.asarray(mask_image)
    if image_bgr.shape != mask_image.shape:
        raise ValueError(f"image {image_bgr.shape} and mask {mask_image.shape} differ")
    h, w = image_bgr.shape[0] // grid * grid, image_bgr.shape[1] // grid * grid
    joined = np.concatenate([image_bgr[None, :h, :w], mask_image[None, :h, :w]], axis=2)
    return joined.astype(np.float32)


TRAINING_LOSSES = ("l1_loss", "ae_loss", "g_loss", "d_loss", "gp_loss")


def training_config(original, image_size, box_size, max_delta, batch):
    """The released config for a smaller training set-up (sizes only changed)."""
    return original.config(IMG_SHAPES=[image_size, image_size, 3], HEIGHT=box_size,
                           WIDTH=box_size, MAX_DELTA_HEIGHT=max_delta,
                           MAX_DELTA_WIDTH=max_delta, BATCH_SIZE=batch)


@contextlib.contextmanager
def _patched(module, **functions):
    saved = {name: getattr(module, name) for name in functions}
    for name, function in functions.items():
        setattr(module, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(module, name, function)


def build_training_step(original, batch, image_size=256, box_size=None, max_delta=None,
                        weights=None, seed=0, optimizer=False):
    """``build_graph_with_losses`` (the released config, sizes scaled) + both gradients.

    Args:
        original: :class:`Original`.
        batch: images per update.
        image_size: ``IMG_SHAPES`` side (256 released).
        box_size: ``HEIGHT = WIDTH`` of the box (default ``image_size // 2``, as released).
        max_delta: ``MAX_DELTA_HEIGHT/WIDTH`` (default ``box_size // 4``, 32 at 128).
        weights: ``{TF1 name: array}`` for every trainable variable, or None (drawn).
        seed: weight seed when ``weights`` is None.
        optimizer: add ``d_update`` / ``g_update`` fetches (``train.py``'s Adam, lr 1e-4,
            beta1 0.5, beta2 0.9) for timing.

    Feeds: ``images`` float ``[batch, S, S, 3]`` in 0..255 (the data pipeline's batch);
    optional ``top``, ``left`` (int32 scalars, the box), ``mask`` ``[1, S, S, 1]`` and
    ``alpha_local``, ``alpha_global`` ``[batch, 1]`` replace the authors' random draws.
    Fetches: :data:`TRAINING_LOSSES`, ``g_gradients`` / ``d_gradients`` (lists in the order
    of ``g_names`` / ``d_names``, attributes of the returned graph), ``top``, ``left``,
    ``mask``, ``alpha_local``, ``alpha_global`` (what was used).
    """
    box_size = box_size or image_size // 2
    max_delta = box_size // 4 if max_delta is None else max_delta
    config = training_config(original, image_size, box_size, max_delta, batch)
    model_module = original.inpaint_model
    recorded = {}

    def random_bbox(config):
        bbox = original.inpaint_ops.random_bbox(config)
        recorded["top"], recorded["left"] = bbox[0], bbox[1]
        return bbox

    def bbox2mask(bbox, config, name="mask"):
        recorded["mask"] = original.inpaint_ops.bbox2mask(bbox, config, name=name)
        return recorded["mask"]

    def random_interpolates(x, y, alpha=None, dtype=tf.float32):
        shape = x.get_shape().as_list()
        which = "alpha_global" if shape[1:3] == [image_size, image_size] else "alpha_local"
        default = tf.compat.v1.random_uniform(shape=[shape[0], 1], dtype=dtype)
        alpha = tf.compat.v1.placeholder_with_default(default, [shape[0], 1], name=which)
        recorded[which] = alpha
        return original.gan_ops.random_interpolates(x, y, alpha=alpha, dtype=dtype)

    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [batch, image_size, image_size, 3],
                                          name="images")
        model = model_module.InpaintCAModel()
        with _patched(model_module, random_bbox=random_bbox, bbox2mask=bbox2mask,
                      random_interpolates=random_interpolates):
            g_vars, d_vars, losses = model.build_graph_with_losses(
                images, config, training=True, summary=False, reuse=False)
        g_gradients = tf.gradients(losses["g_loss"], g_vars)
        d_gradients = tf.gradients(losses["d_loss"], d_vars)
        fetches = {name: losses[name] for name in TRAINING_LOSSES}
        fetches.update(g_gradients=g_gradients, d_gradients=d_gradients, **recorded)
        feeds = {"images": images, **recorded}
        if optimizer:
            lr = tf.compat.v1.get_variable("lr", shape=[], trainable=False,
                                           initializer=tf.compat.v1.constant_initializer(1e-4))
            adam = tf.compat.v1.train.AdamOptimizer(lr, beta1=0.5, beta2=0.9)
            fetches["d_update"] = adam.apply_gradients(zip(d_gradients, d_vars))
            fetches["g_update"] = adam.apply_gradients(zip(g_gradients, g_vars))
    built = _finish(graph, feeds, fetches, weights, seed)
    built.g_names = [v.op.name for v in g_vars]
    built.d_names = [v.op.name for v in d_vars]
    built.config = config
    return built
