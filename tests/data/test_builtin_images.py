"""gi_tf.data.builtin_images: deterministic, varied procedural textures and optional photographs."""

import numpy as np
import pytest

from gi_tf.data import builtin_images


def test_textures_are_deterministic_uint8_rgb():
    a = builtin_images.textures(seed=7, count=6, size=40)
    b = builtin_images.textures(seed=7, count=6, size=40)
    assert a.dtype == np.uint8 and a.shape == (6, 40, 40, 3)
    np.testing.assert_array_equal(a, b)
    # texture i depends on (seed, i) only: a later start gives the same images
    np.testing.assert_array_equal(builtin_images.textures(7, 2, 40, start=4), a[4:])


def test_seeds_and_indices_give_different_images():
    train = builtin_images.textures(builtin_images.TRAIN_SEED, 8, 32)
    held_out = builtin_images.textures(builtin_images.HELD_OUT_SEED, 8, 32)
    flat = np.concatenate([train, held_out]).reshape(16, -1)
    assert len({row.tobytes() for row in flat}) == 16


@pytest.mark.parametrize("kind", builtin_images.TEXTURE_KINDS)
def test_every_kind_has_structure_and_colour(kind):
    image = builtin_images.texture(3, 0, 64, kind=kind).astype(np.float64)
    assert image.std() > 8  # not flat
    assert np.abs(image - image.mean(axis=-1, keepdims=True)).max() > 10  # coloured


def test_periodic_kinds_repeat_and_noise_does_not():
    """A periodic texture is much closer to some shifted copy of itself than noise is."""
    def best_shift_error(image):
        x = image.astype(np.float64)
        errors = [np.abs(x[:, s:] - x[:, :-s]).mean() for s in range(4, 48)]
        errors += [np.abs(x[s:] - x[:-s]).mean() for s in range(4, 48)]
        return min(errors) / max(x.std(), 1e-9)

    for kind in ("tiles", "dots", "stripes"):
        image = builtin_images.texture(0, 1, 96, kind=kind)
        noise = builtin_images.texture(0, 1, 96, kind="noise")
        assert best_shift_error(image) < 0.5 * best_shift_error(noise), kind


def test_kinds_are_all_drawn():
    kinds = {builtin_images.texture_kind(0, i) for i in range(100)}
    assert kinds == set(builtin_images.TEXTURE_KINDS)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind"):
        builtin_images.texture(0, 0, 32, kind="marble")
    with pytest.raises(ValueError, match="size"):
        builtin_images.texture(0, 0, 4)
    with pytest.raises(ValueError, match="unknown photo"):
        builtin_images.photo("lena")


def test_photo_table_lists_only_public_domain_or_cc0():
    assert {p.licence for p in builtin_images.PHOTOS} <= {"public domain", "CC0"}
    assert set(builtin_images.HELD_OUT_PHOTOS).isdisjoint(builtin_images.TRAIN_PHOTOS)
    assert set(builtin_images.HELD_OUT_PHOTOS) | set(builtin_images.TRAIN_PHOTOS) == {
        p.name for p in builtin_images.PHOTOS}


def test_photo_crops_when_scikit_image_is_installed():
    pytest.importorskip("skimage")
    crops = builtin_images.photo_crops(0, 4, 48, names=("coffee", "brick"))
    assert crops.dtype == np.uint8 and crops.shape == (4, 48, 48, 3)
    again = builtin_images.photo_crops(0, 4, 48, names=("coffee", "brick"))
    np.testing.assert_array_equal(crops, again)
    grey = crops[1].astype(int)  # brick is a grey photograph, repeated to RGB
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 0] == grey[..., 2]).all()


def test_in_memory_dataset_order_is_fixed_by_its_seed_alone():
    import tensorflow as tf

    pool = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)

    def order(seed, global_seed):
        tf.random.set_seed(global_seed)
        batches = builtin_images.in_memory_dataset(pool, 5, seed=seed).take(3)
        return [[int(round((b[i, 0, 0, 0] + 1.0) * 127.5)) for i in range(5)]
                for b in batches.as_numpy_iterator()]

    first = order(7, 1)
    assert first == order(7, 2)  # the global seed (or what ran before) does not matter
    assert all(sorted(epoch) == [0, 1, 2, 3, 4] for epoch in first)  # each image once a pass
    assert first[0] != first[1] or first[1] != first[2]  # reshuffled every pass
    assert order(8, 1) != first
