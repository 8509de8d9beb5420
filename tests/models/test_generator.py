"""InpaintGenerator: structure, parameter count, shapes, semantics of its inputs."""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.models import InpaintGenerator
from gi_tf.models import build_generator

# The released code's scopes, in order (inpaint_model.py: build_inpaint_net, v1.0.0).
TF1_SCOPES = (
    ["conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6"]
    + [f"conv{i}_atrous" for i in (7, 8, 9, 10)]
    + ["conv11", "conv12", "conv13_upsample/conv13_upsample_conv", "conv14",
       "conv15_upsample/conv15_upsample_conv", "conv16", "conv17"]
    + ["xconv1", "xconv2_downsample", "xconv3", "xconv4_downsample", "xconv5", "xconv6"]
    + [f"xconv{i}_atrous" for i in (7, 8, 9, 10)]
    + ["pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5",
       "pmconv6", "pmconv9", "pmconv10"]
    + ["allconv11", "allconv12", "allconv13_upsample/allconv13_upsample_conv", "allconv14",
       "allconv15_upsample/allconv15_upsample_conv", "allconv16", "allconv17"]
)


@pytest.fixture(scope="module")
def generator():
    return build_generator()


def _inputs(batch, height, width, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, (batch, height, width, 3)).astype("float32")
    holes = np.zeros((batch, height, width, 1), "float32")
    for i in range(batch):
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        holes[i, top:top + height // 3, left:left + width // 3] = 1.0
    return image, holes


def test_parameter_count_matches_released_code(generator):
    assert generator.count_params() == 3_601_542


def test_baseline_without_attention_drops_the_pm_branch():
    baseline = build_generator(use_attention=False)
    # allconv11 then sees 128 channels instead of 256.
    assert baseline.count_params() == 2_758_118
    assert not any(name.startswith("pmconv") for name in baseline.conv_layers())


def test_layer_names_are_the_tf1_scopes(generator):
    table = generator.conv_layers()
    assert sorted(table) == sorted(TF1_SCOPES)
    kernel_shapes = {name: tuple(layer.kernel.shape) for name, layer in table.items()}
    # Spot checks against shapes printed in the original's training logs (build_inpaint_net).
    assert kernel_shapes["xconv3"] == (3, 3, 32, 64)
    assert kernel_shapes["xconv4_downsample"] == (3, 3, 64, 64)
    assert kernel_shapes["pmconv1"] == (5, 5, 5, 32)
    assert kernel_shapes["pmconv4_downsample"] == (3, 3, 64, 128)
    assert kernel_shapes["allconv11"] == (3, 3, 256, 128)
    assert kernel_shapes["conv1"] == (5, 5, 5, 32)


def test_activations_follow_the_released_code(generator):
    table = generator.conv_layers()
    activation = {name: layer.activation.__name__ for name, layer in table.items()}
    assert activation["pmconv6"] == "relu"
    assert activation["conv17"] == "linear" and activation["allconv17"] == "linear"
    others = set(activation) - {"pmconv6", "conv17", "allconv17"}
    assert {activation[name] for name in others} == {"elu"}
    dilations = {name: layer.dilation_rate[0] for name, layer in table.items()}
    assert [dilations[f"conv{i}_atrous"] for i in (7, 8, 9, 10)] == [2, 4, 8, 16]
    assert [dilations[f"xconv{i}_atrous"] for i in (7, 8, 9, 10)] == [2, 4, 8, 16]


def test_output_shapes_at_256(generator):
    size = 256
    image, holes = _inputs(1, size, size)
    coarse, refined, offsets = generator(image, holes)
    assert coarse.shape == (1, size, size, 3)
    assert refined.shape == (1, size, size, 3)
    assert offsets.shape == (1, size // 8, size // 8, 2)
    assert offsets.dtype == tf.int32
    for out in (coarse, refined):
        values = np.asarray(out)
        assert np.all(np.isfinite(values)) and values.min() >= -1.0 and values.max() <= 1.0


@pytest.mark.parametrize("batch", [1, 2])
def test_output_shapes_at_512_traced(generator, batch):
    # Tracing with static sizes runs every op's shape inference at 512x512 without the
    # cost of a forward pass (the dynamic-shape test below runs other sizes for real).
    spec = [tf.TensorSpec([batch, 512, 512, 3]), tf.TensorSpec([batch, 512, 512, 1])]
    traced = tf.function(lambda x, m: generator(x, m)).get_concrete_function(*spec)
    coarse, refined, offsets = traced.structured_outputs
    assert tuple(coarse.shape) == tuple(refined.shape) == (batch, 512, 512, 3)
    assert tuple(offsets.shape) == (batch, 64, 64, 2) and offsets.dtype == tf.int32


@pytest.mark.parametrize("size", [256, 512, None])
def test_symbolic_outputs_match_eager_conventions(generator, size):
    import keras

    outputs = generator(keras.Input((size, size, 3)), keras.Input((size, size, 1)))
    small = None if size is None else size // 8
    assert [tuple(o.shape) for o in outputs] == [
        (None, size, size, 3), (None, size, size, 3), (None, small, small, 2)]
    assert [o.dtype for o in outputs] == ["float32", "float32", "int32"]


def test_hole_pixels_are_ignored(generator):
    image, holes = _inputs(2, 64, 48)
    scrambled = np.where(holes > 0, np.random.default_rng(5).uniform(-1, 1, image.shape),
                         image).astype("float32")
    for a, b in zip(generator(image, holes), generator(scrambled, holes)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_masks_are_per_sample(generator):
    image, holes = _inputs(3, 48, 64, seed=2)
    batched = generator(image, holes)
    for i in range(3):
        single = generator(image[i:i + 1], holes[i:i + 1])
        for a, b in zip(batched, single):
            np.testing.assert_allclose(np.asarray(a)[i:i + 1], np.asarray(b), atol=2e-5)


def test_dynamic_shapes_in_a_traced_function(generator):
    spec = [tf.TensorSpec([None, None, None, 3]), tf.TensorSpec([None, None, None, 1])]
    traced = tf.function(lambda x, m: generator(x, m), input_signature=spec)
    for batch, height, width in [(1, 32, 48), (2, 64, 40)]:
        image, holes = _inputs(batch, height, width)
        eager = generator(image, holes)
        graph = traced(image, holes)
        np.testing.assert_allclose(np.asarray(eager[1]), np.asarray(graph[1]), atol=1e-5)
        np.testing.assert_array_equal(np.asarray(eager[2]), np.asarray(graph[2]))


def test_stride_two_convs_pad_like_tf_same(generator):
    """3x3/s2 on an even input pads 0 rows before and 1 after (TF1 SAME)."""
    conv = generator.conv_layers()["conv2_downsample"]
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 32)).astype("float32")
    expected = tf.nn.conv2d(np.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]), conv.kernel,
                            strides=2, padding="VALID") + conv.bias
    np.testing.assert_allclose(np.asarray(conv(x)), tf.nn.elu(expected).numpy(), atol=1e-5)


def test_config_round_trip_and_keras_file(tmp_path):
    generator = build_generator(use_attention=True, attention_chunk_elements=123456)
    clone = InpaintGenerator.from_config(generator.get_config())
    assert clone.get_config() == generator.get_config()
    image, holes = _inputs(1, 32, 32)
    expected = generator(image, holes)
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    import keras

    restored = keras.saving.load_model(path)
    for a, b in zip(expected, restored(image, holes)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
