"""The size of a SavedModel's graph: counting each signature's nodes, and merging duplicates.

Tracing the pipelines leaves many nodes that compute the same value twice: a ``Const``
per Python number, a ``Shape``/``StridedSlice`` per ``tf.shape(x)[i]``, the same index
arithmetic in every layer. :func:`merge_duplicates` rewrites every function of a written
``saved_model.pb`` so that each such value is computed once (common subexpressions of
stateless ops: same op, same inputs, same attributes); every other node only has its
inputs renamed. No arithmetic changes (a merged node computed exactly what its twin
computes), so results are bit-identical. The file halves; wall times barely move (most of
a start is TensorFlow's import, tracing and Keras' saving: docs/benchmarks.md §17).

:func:`signature_op_counts` is the measure (``gi-bench``'s ``startup`` section reports it):
a signature's own graph nodes plus the ``node_def`` of every function it calls,
transitively, each function once.
"""

import os

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from gi_tf.utils import files

SAVED_MODEL_FILE = "saved_model.pb"


# -- counting ---------------------------------------------------------------------------------


def called_functions(node):
    """Names of the functions a NodeDef calls (``f`` of calls, ``If``'s branches, ``While``'s
    ``cond``/``body``, ``Case``'s ``branches``)."""
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        if value.HasField("list"):
            yield from (func.name for func in value.list.func)


def reachable_functions(nodes, library):
    """The FunctionDefs of ``library`` that ``nodes`` call, transitively, sorted by name."""
    by_name = {function.signature.name: function for function in library.function}
    seen, todo = set(), [name for node in nodes for name in called_functions(node)]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(n for node in by_name[name].node_def for n in called_functions(node))
    return [by_name[name] for name in sorted(seen)]


def signature_graph_nodes(loaded, key):
    """``(graph nodes, [FunctionDef])`` of signature ``key`` of a loaded SavedModel: its
    concrete function's own nodes and every library function they call, each once."""
    graph_def = loaded.signatures[key].graph.as_graph_def()
    nodes = list(graph_def.node)
    return nodes, reachable_functions(nodes, graph_def.library)


def signature_op_counts(model, by_type=False):
    """``{signature key: nodes}`` of a SavedModel: each signature's graph nodes plus the
    ``node_def`` of every function it calls, transitively (a function called from several
    places counts once; functions only registered, such as gradients, not at all).

    ``model``: a version directory or what ``tf.saved_model.load`` returned. ``by_type``:
    ``{key: {op type: nodes}}`` (most frequent first) instead.
    """
    loaded = tf.saved_model.load(os.fspath(model)) if isinstance(
        model, (str, os.PathLike)) else model
    counts = {}
    for key in sorted(loaded.signatures.keys()):
        nodes, functions = signature_graph_nodes(loaded, key)
        every = nodes + [node for function in functions for node in function.node_def]
        if not by_type:
            counts[key] = len(every)
            continue
        types = {}
        for node in every:
            types[node.op] = types.get(node.op, 0) + 1
        counts[key] = dict(sorted(types.items(), key=lambda item: (-item[1], item[0])))
    return counts


# -- merging duplicates -----------------------------------------------------------------------


# Stateless ops kept apart all the same: buffers that later ops may update in place.
_NEVER_MERGED = ("Empty", "InplaceUpdate", "InplaceAdd", "InplaceSub")


def _mergeable(node):
    """A node whose twin (same op, inputs, attributes) may stand in for it: a registered,
    stateless op that calls no function and makes no variant (TensorList) value."""
    op_def = op_def_registry.get(node.op)
    if (op_def is None or op_def.is_stateful or node.op in _NEVER_MERGED
            or node.op.startswith("TensorList")):
        return False
    if any(arg.type == tf.variant.as_datatype_enum for arg in op_def.output_arg):
        return False
    return not any(value.HasField("func") or (value.HasField("list") and value.list.func)
                   for value in node.attr.values())


def _source(name):
    """The node an input string of a FunctionDef names (``"^x"``, ``"x:output:0"`` -> ``x``)."""
    return name.lstrip("^").split(":", 1)[0]


def _renamed(name, survivors):
    control = name.startswith("^")
    node, sep, rest = name.lstrip("^").partition(":")
    node = survivors.get(node, node)
    return ("^" if control else "") + node + sep + rest


def _topological(nodes):
    """``nodes`` (NodeDefs of one function) inputs first; function arguments are no nodes.

    The nodes of a function body form a DAG (loops are ``While`` ops calling functions).
    """
    by_name = {node.name: node for node in nodes}
    pending = {node.name: {_source(i) for i in node.input if _source(i) in by_name}
               for node in nodes}
    users = {name: [] for name in by_name}
    for name, deps in pending.items():
        for dep in deps:
            users[dep].append(name)
    ready = [node.name for node in nodes if not pending[node.name]]
    order = []
    while ready:
        name = ready.pop()
        order.append(by_name[name])
        for user in users[name]:
            pending[user].discard(name)
            if not pending[user]:
                ready.append(user)
    if len(order) != len(nodes):  # not a DAG (never made by tf.function): leave it alone
        return None
    return order


def merge_function(function):
    """Merge duplicate stateless nodes of one FunctionDef in place; returns how many went."""
    order = _topological(function.node_def)
    if order is None:
        return 0
    survivors, seen, kept = {}, {}, []
    for node in order:
        renamed = [_renamed(name, survivors) for name in node.input]
        del node.input[:]
        node.input.extend(renamed)
        if _mergeable(node):
            key = (node.op, node.device, tuple(renamed), tuple(
                (name, node.attr[name].SerializeToString(deterministic=True))
                for name in sorted(node.attr)))
            twin = seen.setdefault(key, node.name)
            if twin != node.name:
                survivors[node.name] = twin
                continue
        kept.append(node)
    if not survivors:
        return 0
    position = {node.name: index for index, node in enumerate(function.node_def)}
    kept.sort(key=lambda node: position[node.name])  # the traced order, for readers
    copies = [type(node)() for node in kept]
    for copy, node in zip(copies, kept):
        copy.CopyFrom(node)
    del function.node_def[:]
    function.node_def.extend(copies)
    for name in list(function.ret):
        function.ret[name] = _renamed(function.ret[name], survivors)
    for name in list(function.control_ret):
        function.control_ret[name] = survivors.get(function.control_ret[name],
                                                   function.control_ret[name])
    return len(survivors)


def merge_duplicates(saved_model):
    """:func:`merge_function` on every function of a ``SavedModel`` proto; returns the
    number of nodes removed."""
    removed = 0
    for meta in saved_model.meta_graphs:
        for function in meta.graph_def.library.function:
            removed += merge_function(function)
    return removed


def read_saved_model(directory):
    """The ``SavedModel`` proto of ``directory/saved_model.pb``."""
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString(files.read_bytes(files.join(os.fspath(directory), SAVED_MODEL_FILE)))
    return saved


def shrink_saved_model(directory):
    """Rewrite ``directory/saved_model.pb`` with :func:`merge_duplicates` (atomically);
    returns the number of nodes removed."""
    saved = read_saved_model(directory)
    removed = merge_duplicates(saved)
    if removed:
        files.write_bytes(files.join(os.fspath(directory), SAVED_MODEL_FILE),
                          saved.SerializeToString(deterministic=True))
    return removed

