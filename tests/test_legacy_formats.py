"""Checkpoints and exports keep the format the pre-move code wrote (tag ``pre-redesign``).

``tests/fixtures/legacy_formats.json`` records what the code before the package move
(38 flat modules) wrote for a ``gi-train`` run, generator-only checkpoints (with and
without attention), a ``gi-import-tf1`` output and a ``gi-export`` SavedModel: every
checkpoint variable as ``[key, shape, dtype]`` (the object-graph paths that
``tf.train.Checkpoint.restore`` matches on), the files written beside them with their
JSON keys, and the SavedModel's layout, signatures and variables. Its ``how`` field says
which commit and commands produced the files.

The tests write the same kinds of files with today's code, at the recorded run's sizes
(the smoke preset's), and compare their descriptions with the fixture: checkpoint
variables and signatures must be equal; every file and JSON key the old code wrote must
still be written (new ones may be added). Identical keys, shapes and dtypes are what
lets today's code restore an old checkpoint (a restore matches variables by key and
checks shapes). The configs and the ``flags_used.flags`` of the old run are stored
whole, so reading them with today's code is tested too.

A failure here means the format changed: keep today's code reading the old files (a
checkpoint written by the pre-move code must still load and resume) rather than editing
the fixture. Only if TensorFlow or Keras change what they write, re-record from files the
pre-move code writes as ``how`` says (``python tests/test_legacy_formats.py --record
DIR`` only reads ``DIR``; it rewrites the recorded sections and keeps ``about``/``how``).
"""

import dataclasses
import json
import os
import sys

import pytest
import tensorflow as tf
from absl import flags

from gi_tf.cli import import_tf1
from gi_tf.cli import train as train_cli
from gi_tf.data import pipeline
from gi_tf.models.checkpoints import save_generator
from gi_tf.models.config import ModelConfig
from gi_tf.models.generator import build_generator
from gi_tf.training.checkpoint import training_checkpoint
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import read_train_config
from gi_tf.training.gan import build_inpainting_gan

import shared_artifacts
from references import tf1_reference as ref

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(TESTS_DIR, "fixtures", "legacy_formats.json")
OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"
ITERATOR_STATE = "/.ATTRIBUTES/ITERATOR_STATE"
UNORDERED_EXPORT_PREFIX = "_all_variables/"
RUN_CONFIG_FILES = ("model_config.json", "train_config.json", "data_config.json")
FLAGS_FILE = "flags_used.flags"
# Directories of the recorded checkpoints (names under the legacy directory and keys of
# the fixture's "checkpoints").
CHECKPOINTS = ("train", "generator_attention_true", "generator_attention_false",
               "tf1_import")


# --- Descriptions: the same functions record the fixture and check today's files. ----

def checkpoint_variables(prefix):
    """Sorted ``[key, shape, dtype]`` of a checkpoint, without the object-graph proto.

    A ``tf.data`` iterator's state is a variant vector whose length follows the
    iterator's position and buffers, so its shape is ``None``.
    """
    reader = tf.train.load_checkpoint(prefix)
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    return [[key, None if key.endswith(ITERATOR_STATE) else list(shapes[key]),
             dtypes[key].name]
            for key in sorted(shapes) if key != OBJECT_GRAPH]


def listing(directory, recursive=False):
    """Sorted names under ``directory`` (folders end in ``/``), relative to it."""
    entries = []
    for root, dirs, files in os.walk(directory):
        relative = os.path.relpath(root, directory)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        entries += [prefix + name + "/" for name in dirs] + [prefix + name for name in files]
        if not recursive:
            break
    return sorted(entries)


def json_keys(path):
    """Sorted keys of a JSON object file; nested objects give dotted keys (``loss.gamma``)."""
    def keys(values, prefix):
        found = []
        for key, value in values.items():
            if isinstance(value, dict) and value:
                found += keys(value, f"{prefix}{key}.")
            else:
                found.append(prefix + key)
        return found

    with open(path) as f:
        return sorted(keys(json.load(f), ""))


def checkpoint_record(directory):
    """Files, JSON keys and variables of the latest checkpoint in ``directory``."""
    prefix = tf.train.latest_checkpoint(directory)
    assert prefix is not None, f"no checkpoint in {directory}"
    files = listing(directory)
    return {
        "files": files,
        "json_keys": {name: json_keys(os.path.join(directory, name))
                      for name in files if name.endswith(".json")},
        "variables": checkpoint_variables(prefix),
    }


def _spec(spec):
    return [spec.dtype.name, [-1 if d is None else int(d) for d in spec.shape.as_list()]]


def signatures(version_dir):
    """``{key: {"inputs": {name: [dtype, shape]}, "outputs": {...}}}``; -1 = dynamic."""
    loaded = tf.saved_model.load(version_dir)
    described = {}
    for key, function in sorted(loaded.signatures.items()):
        _, inputs = function.structured_input_signature
        described[key] = {
            "inputs": {name: _spec(spec) for name, spec in sorted(inputs.items())},
            "outputs": {name: _spec(spec)
                        for name, spec in sorted(function.structured_outputs.items())},
        }
    return described


def export_variables(version_dir):
    """The SavedModel's variables: ``variables/<i>`` by key, ``_all_variables`` as a multiset.

    ``keras.export.ExportArchive`` numbers ``_all_variables`` in an order that changes
    from one export to the next, so only their ``[shape, dtype]`` are compared.
    """
    rows = checkpoint_variables(os.path.join(version_dir, "variables", "variables"))
    return {
        "ordered": [row for row in rows if not row[0].startswith(UNORDERED_EXPORT_PREFIX)],
        "unordered_all_variables": sorted(
            [row[1], row[2]] for row in rows if row[0].startswith(UNORDERED_EXPORT_PREFIX)),
    }


def export_record(export_base):
    """Layout, JSON keys, signatures and variables of the single version in ``export_base``."""
    layout = listing(export_base, recursive=True)
    versions = [name for name in os.listdir(export_base) if name.isdigit()]
    assert len(versions) == 1, f"expected one version in {export_base}: {versions}"
    version_dir = os.path.join(export_base, versions[0])
    return {
        "layout": layout,
        "json_keys": {name: json_keys(os.path.join(export_base, name))
                      for name in layout if name.endswith(".json")},
        "signatures": signatures(version_dir),
        "variables": export_variables(version_dir),
    }


def run_files(directory):
    """The configs (whole) and flag lines a ``gi-train`` run records in ``directory``."""
    files = {}
    for name in RUN_CONFIG_FILES:
        with open(os.path.join(directory, name)) as f:
            files[name] = json.load(f)
    with open(os.path.join(directory, FLAGS_FILE)) as f:
        files[FLAGS_FILE] = [line.strip() for line in f
                             if line.strip() and not line.startswith("#")]
    return files


# --- Comparison -----------------------------------------------------------------------

def assert_same_variables(actual, expected, what):
    """Equal ``[key, shape, dtype]`` lists, else a message naming every difference."""
    actual_map = {row[0]: row[1:] for row in actual}
    expected_map = {row[0]: row[1:] for row in expected}
    missing = sorted(set(expected_map) - set(actual_map))
    unexpected = sorted(set(actual_map) - set(expected_map))
    changed = [f"{key}: {expected_map[key]} -> {actual_map[key]}"
               for key in sorted(set(expected_map) & set(actual_map))
               if actual_map[key] != expected_map[key]]
    assert not (missing or unexpected or changed), (
        f"{what}: the checkpoint format changed from the pre-move code "
        f"({len(missing)} missing, {len(unexpected)} unexpected, {len(changed)} changed "
        f"variables); missing {missing[:8]}, unexpected {unexpected[:8]}, "
        f"changed {changed[:8]}")


def assert_still_written(files, json_keys, expected_files, expected_json_keys, what):
    """Every file and JSON key the pre-move code wrote is still written.

    Additions pass: the fixture holds what the old code wrote, so it cannot list them
    (reading old files without them is checked separately).
    """
    missing = sorted(set(expected_files) - set(files))
    assert not missing, f"{what}: no longer writes {missing} (the pre-move code did)"
    for name, keys in sorted(expected_json_keys.items()):
        missing = sorted(set(keys) - set(json_keys.get(name, ())))
        assert not missing, (f"{what}: {name} no longer has the keys {missing} "
                             "(the pre-move code wrote them)")


def assert_same_record(actual, expected, what):
    """Files and JSON keys still written, and exactly the old checkpoint variables."""
    assert_still_written(actual["files"], actual["json_keys"], expected["files"],
                         expected["json_keys"], what)
    assert_same_variables(actual["variables"], expected["variables"], what)


@pytest.fixture(scope="module")
def legacy():
    with open(FIXTURE) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def old_run_dir(legacy, tmp_path_factory):
    """A directory holding the pre-move run's config files and flags_used.flags."""
    directory = tmp_path_factory.mktemp("old_run")
    files = legacy["pre_move_run_files"]
    for name in RUN_CONFIG_FILES:
        (directory / name).write_text(json.dumps(files[name], indent=2, sort_keys=True))
    (directory / FLAGS_FILE).write_text("\n".join(files[FLAGS_FILE]) + "\n")
    return directory


def _parse_train_flags(argv):
    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    flag_values(["gi-train", *argv])
    return flag_values


# --- Training runs ----------------------------------------------------------------------

def _old_fields(values, old):
    """``values`` restricted to the keys of ``old``, recursively (new fields may be added)."""
    return {key: _old_fields(values.get(key) or {}, item) if isinstance(item, dict)
            else values.get(key)
            for key, item in old.items()}


def test_pre_move_run_configs_and_flags_still_read(old_run_dir, legacy):
    # Reading may tolerate added fields; that the written keys did not change is checked
    # by test_gi_train_writes_the_pre_move_run_directory.
    files = legacy["pre_move_run_files"]
    old_model, old_train, old_data = (files[name] for name in RUN_CONFIG_FILES)
    assert _old_fields(ModelConfig.read(str(old_run_dir)).to_dict(), old_model) == old_model
    assert _old_fields(read_train_config(str(old_run_dir)).to_dict(), old_train) == old_train
    data_config = pipeline.DataConfig(**old_data).validate()
    assert _old_fields(dataclasses.asdict(data_config), old_data) == old_data
    # The recorded flags (what "--flagfile=<model_dir>/flags_used.flags" resumes with)
    # still parse and give the configs the old run recorded.
    flag_values = _parse_train_flags([f"--flagfile={old_run_dir / FLAGS_FILE}"])
    train_config, model_config, data_config = train_cli.configs_from_flags(flag_values)
    assert _old_fields(train_config.resolved().to_dict(), old_train) == old_train
    assert _old_fields(model_config.to_dict(), old_model) == old_model
    assert _old_fields(dataclasses.asdict(data_config), old_data) == old_data


def test_training_checkpoint_has_the_pre_move_keys(legacy, tmp_path):
    files = legacy["pre_move_run_files"]
    train_config = TrainConfig.from_dict(files["train_config.json"])
    gan = build_inpainting_gan(train_config, ModelConfig.from_dict(files["model_config.json"]))
    # gi-train saves the input position; its Python decoders hold no state to save.
    options = tf.data.Options()
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    dataset = pipeline.make_dataset(pipeline.DataConfig(**files["data_config.json"]),
                                    train_config.images_per_step).with_options(options)
    prefix = training_checkpoint(gan, iter(dataset)).save(str(tmp_path / "ckpt"))
    assert_same_variables(checkpoint_variables(prefix),
                          legacy["checkpoints"]["train"]["variables"], "training checkpoint")


def test_gi_train_writes_the_pre_move_run_directory(old_run_dir, legacy, shared_smoke_run):
    # The old run was the smoke preset at --max_steps=2: its own flags give today's smoke
    # preset's configs but for max_steps, so the session's smoke run (gi-train's main, 4
    # steps; it keeps ckpt-2 and ckpt-4) is that run two steps further on.
    old = train_cli.configs_from_flags(_parse_train_flags(
        [f"--flagfile={old_run_dir / FLAGS_FILE}", "--max_steps=4"]))
    smoke = train_cli.configs_from_flags(_parse_train_flags(
        [f"--flagfile={shared_artifacts.SMOKE_FLAGFILE}", "--model_dir=unused"]))
    assert old == smoke, "the pre-move run is no longer the smoke preset at --max_steps=2"
    model_dir, _ = shared_smoke_run
    assert_same_record(checkpoint_record(model_dir), legacy["checkpoints"]["train"],
                       "gi-train run directory")


# --- Generator checkpoints ----------------------------------------------------------------

@pytest.mark.parametrize("use_attention", [True, False])
def test_generator_checkpoint_has_the_pre_move_keys(use_attention, legacy, tmp_path):
    save_generator(build_generator(use_attention=use_attention), str(tmp_path),
                   ModelConfig(use_attention=use_attention))
    name = f"generator_attention_{str(use_attention).lower()}"
    assert_same_record(checkpoint_record(str(tmp_path)), legacy["checkpoints"][name], name)


def test_tf1_import_writes_the_pre_move_files(legacy, tmp_path):
    download = tmp_path / "release"
    download.mkdir()
    ref.save_tf1_checkpoint(download, ref.random_weights(seed=5))
    output = tmp_path / "imported"
    import_tf1.import_checkpoint(str(download), str(output), self_check_size=32)
    assert_same_record(checkpoint_record(str(output)), legacy["checkpoints"]["tf1_import"],
                       "gi-import-tf1 output")


# --- SavedModel export ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def new_export(shared_export):
    """Today's export of a generator checkpoint (the session's shared export), described
    like the fixture's."""
    return export_record(shared_export)


def test_export_has_the_pre_move_layout_and_extra_files(new_export, legacy):
    assert_still_written(new_export["layout"], new_export["json_keys"],
                         legacy["export"]["layout"], legacy["export"]["json_keys"],
                         "SavedModel export")


def test_export_has_the_pre_move_signatures(new_export, legacy):
    """Every signature the pre-move code exported is still there, inputs and outputs unchanged;
    signatures added since (``serving_window``, ``plan``) are allowed."""
    old = legacy["export"]["signatures"]
    new = new_export["signatures"]
    missing = sorted(set(old) - set(new))
    assert not missing, f"signatures no longer exported: {missing}"
    for name, spec in old.items():
        assert new[name] == spec, f"signature {name!r} changed"


def test_export_has_the_pre_move_variables(new_export, legacy):
    expected = legacy["export"]["variables"]
    assert_same_variables(new_export["variables"]["ordered"], expected["ordered"],
                          "SavedModel variables")
    assert (new_export["variables"]["unordered_all_variables"]
            == expected["unordered_all_variables"])


# --- Recording (run by hand on files the pre-move code wrote; see the fixture's "how") -----

def _format(value, indent=0, width=100):
    """JSON with every value that fits in ``width`` characters on one line."""
    compact = json.dumps(value)
    if len(compact) + 2 * indent <= width or not isinstance(value, (dict, list)) or not value:
        return compact
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key)}: {_format(item, indent + 1, width)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [inner + _format(item, indent + 1, width) for item in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def record(legacy_dir, fixture=FIXTURE):
    """Describe the files under ``legacy_dir`` into ``fixture`` (keeps about/how)."""
    recorded = {"about": "", "how": {}}
    if os.path.exists(fixture):
        with open(fixture) as f:
            old = json.load(f)
        recorded = {"about": old.get("about", ""), "how": old.get("how", {})}
    recorded["checkpoints"] = {name: checkpoint_record(os.path.join(legacy_dir, name))
                               for name in CHECKPOINTS}
    recorded["pre_move_run_files"] = run_files(os.path.join(legacy_dir, "train"))
    recorded["export"] = export_record(os.path.join(legacy_dir, "export"))
    os.makedirs(os.path.dirname(fixture), exist_ok=True)
    with open(fixture + ".tmp", "w") as f:
        f.write(_format(recorded) + "\n")
    os.replace(fixture + ".tmp", fixture)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--record":
        sys.exit(f"usage: {sys.argv[0]} --record LEGACY_DIR  (see the fixture's 'how')")
    record(sys.argv[2])
