"""gi-make-tfrecords: pack an image folder or ``.flist`` file into TFRecord shards.

Usage::

    python -m gi_tf.cli.make_tfrecords --input=data/places2/train.flist \\
        --output=data/places2/train --num_shards=64 --verify

writes ``data/places2/train-00000-of-00064.tfrecord`` ... (each record holds an image
file's original bytes and its name; see :mod:`gi_tf.data.tfrecords`) and prints their paths.
Train from them with ``gi-train --data='data/places2/train-*.tfrecord'``.

The image order is shuffled before sharding (``--shuffle_seed``; -1 keeps the listing
order). Shards are written to hidden temporary files and renamed into place only when
all are complete; existing shards with the same prefix are an error unless
``--overwrite``. ``--verify`` decodes every image first and leaves out (and lists) the
ones TensorFlow cannot decode.
"""

from absl import app
from absl import flags

from gi_tf.cli.runner import run_app
from gi_tf.utils import files

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values``."""
    flags.DEFINE_string(
        "input", None, "Image folder (searched recursively) or .flist file (one path per "
        "line).", flag_values=flag_values)
    flags.DEFINE_string(
        "output", None, "Output prefix; shards are <output>-NNNNN-of-NNNNN.tfrecord.",
        flag_values=flag_values)
    flags.DEFINE_integer(
        "num_shards", 1, "Number of shards (1 .. number of images); use at least as many "
        "as training workers, e.g. ~100-200 MB per shard.", lower_bound=1,
        flag_values=flag_values)
    flags.DEFINE_integer(
        "shuffle_seed", 0, "Seed of the shuffle before sharding; -1 keeps the listing "
        "order.", lower_bound=-1, flag_values=flag_values)
    flags.DEFINE_bool(
        "verify", False, "Decode every image and leave out the ones that fail.",
        flag_values=flag_values)
    flags.DEFINE_bool(
        "overwrite", False, "Replace existing shards with the same prefix.",
        flag_values=flag_values)
    flags.mark_flags_as_required(["input", "output"], flag_values=flag_values)


def main(argv, flag_values=FLAGS):
    """Write the shards, print their paths and the images left out."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from gi_tf.data import tfrecords  # imported here so that a bad command line fails fast
    from gi_tf.data.sources import SkippedImages  # lazy: TensorFlow start-up

    skipped = SkippedImages(max_examples=20)
    seed = flag_values.shuffle_seed
    try:
        outputs = tfrecords.write_tfrecords(
            flag_values.input, flag_values.output, num_shards=flag_values.num_shards,
            shuffle_seed=None if seed == -1 else seed, verify=flag_values.verify,
            overwrite=flag_values.overwrite, skipped=skipped, progress=True)
    except (FileNotFoundError, FileExistsError, ValueError, files.FileError) as err:
        raise SystemExit(f"gi-make-tfrecords: error: {err}") from err
    for path in outputs:
        print(path)
    if skipped.count:
        print(f"Left out {skipped.count} image(s) that could not be decoded, e.g.:")
        for name in skipped.examples:
            print(f"  {name}")


def run():
    """Console-script entry point (``gi-make-tfrecords``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
