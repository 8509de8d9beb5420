"""gi_tf.inference.graph_size: counting a signature's nodes, merging duplicate nodes."""

import numpy as np
import tensorflow as tf

from gi_tf.inference import graph_size


def _independent_count(loaded, key):
    """Nodes of a signature's graph plus those of every function it reaches (a walk of the
    GraphDef written here, not graph_size's)."""
    graph_def = loaded.signatures[key].graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    total, seen, todo = len(graph_def.node), set(), list(graph_def.node)
    while todo:
        node = todo.pop()
        for value in node.attr.values():
            names = [value.func.name] if value.HasField("func") else []
            names += [f.name for f in value.list.func] if value.HasField("list") else []
            for name in names:
                if name in library and name not in seen:
                    seen.add(name)
                    total += len(library[name].node_def)
                    todo.extend(library[name].node_def)
    return total


def test_counts_every_signature_of_the_export(shared_export):
    loaded = tf.saved_model.load(shared_export + "/1")
    counts = graph_size.signature_op_counts(loaded)
    assert sorted(counts) == sorted(loaded.signatures.keys())
    for key, count in counts.items():
        assert count == _independent_count(loaded, key) > 0
    by_type = graph_size.signature_op_counts(loaded, by_type=True)
    assert {key: sum(types.values()) for key, types in by_type.items()} == counts


class _Repeats(tf.Module):
    """The same values computed several times over, as per-layer Python arithmetic does."""

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def serve(self, x):
        outs = []
        for _ in range(4):
            h, w = tf.shape(x)[0], tf.shape(x)[1]
            scale = tf.cast(h * w, tf.float32) + tf.constant(0.5)
            outs.append(tf.nn.relu(x * scale - 1.0))
        noise = tf.random.uniform(tf.shape(x), seed=1)  # stateful: never merged
        return {"y": tf.add_n(outs), "noise_shape": tf.shape(noise)}


def test_merging_duplicates_keeps_results_and_removes_nodes(tmp_path):
    directory = str(tmp_path / "m")
    module = _Repeats()
    tf.saved_model.save(module, directory, signatures={"serving_default": module.serve})
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7.0 - 0.5
    before_loaded = tf.saved_model.load(directory)
    before = before_loaded.signatures["serving_default"](tf.constant(x))
    nodes_before = graph_size.signature_op_counts(before_loaded)["serving_default"]

    removed = graph_size.shrink_saved_model(directory)

    after_loaded = tf.saved_model.load(directory)
    after = after_loaded.signatures["serving_default"](tf.constant(x))
    nodes_after = graph_size.signature_op_counts(after_loaded)["serving_default"]
    assert removed > 0 and nodes_after == nodes_before - removed
    np.testing.assert_array_equal(after["y"].numpy(), before["y"].numpy())
    np.testing.assert_array_equal(after["noise_shape"].numpy(), [3, 4])
    ops = graph_size.signature_op_counts(after_loaded, by_type=True)["serving_default"]
    assert ops.get("RandomUniform", 0) == 1
    # a second pass finds nothing left to merge
    assert graph_size.shrink_saved_model(directory) == 0
