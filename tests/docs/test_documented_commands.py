"""Every documented command is a test: the code blocks of README.md, its reference pages
(``docs/inpaint.md``, ``docs/train.md``, ...: :data:`DOCS`), export/README.md and
docs/benchmarks.md run as written, on small generated inputs, each with a timeout.

How it works (the parser and the marker grammar: ``tests/docs/doc_blocks.py``):

* Each shell command of a ``bash`` block and each ``python`` block is one test, in the
  order of :data:`DOCS`. Shell commands run in a scratch directory per document (the
  "repository root" the docs speak of, holding generated inputs:
  ``photo.jpg``, ``mask.png``, ``photos/``, ``~/photos`` (``HOME`` points into it), ...),
  with the console scripts of this Python's environment first on ``PATH``; the README's
  reference pages (:data:`README_PAGES`) share the README's directory; Python blocks
  run in this process in that directory.
* How a shell command runs: the first documented command of each console script
  (``gi-train``, ``gi-inpaint``, ...) and every command with shell syntax (pipes,
  redirections, ``printf``, ``python -c``) run with ``bash`` as a subprocess, as a user
  runs them (exit status, and no start-up noise in what the console shows); the other
  commands of a console script, whose point is what the command does, run in this
  process through the CLI's own ``main(argv, flag_values)`` with the same argument
  parsing (:func:`run_in_process`; :data:`IN_PROCESS` lists which ran how), one after the
  other (nothing runs in parallel beside the xdist workers).
* What the doc promises is asserted by the check written for that command in
  :data:`CHECKS` (exit status, files written, printed lines). A documented command
  without a check fails: a changed doc needs its test changed too.
* A block, or a command in it, that cannot run in CI (Docker, a TF Serving server, GPUs,
  the authors' checkpoints, ``pip install`` of the package itself, the 7-minute main job)
  carries a marker in the doc source saying why; its test is *skipped with that reason*,
  so ``pytest -ra`` lists everything that did not run. A ``bash``/``python`` block may
  not be skipped without a marker (:func:`test_every_documented_block_is_run_or_marked`).
* One smoke checkpoint is trained for the whole module (the README's first command,
  run by the :func:`workspaces` fixture, then docs/train.md's "own photos" command); later
  commands that name other checkpoints (``runs/places2``, ``runs/a``) get links to it.
"""

import base64
import configparser
import contextlib
import csv
import importlib
import io
import json
import logging
import os
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gi_tf.data import builtin_images
from gi_tf.utils.image_io import read_image
from gi_tf.utils.image_io import read_mask
from gi_tf.utils.image_io import write_image_atomic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_blocks  # noqa: E402  (tests/docs/doc_blocks.py, the parser)

pytestmark = pytest.mark.e2e

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.dirname(sys.executable)
DOCS = ("README.md", "docs/inpaint.md", "docs/train.md", "docs/eval.md", "docs/import_tf1.md",
        "docs/parity.md", "docs/performance.md", "export/README.md", "docs/benchmarks.md")
# The README's reference pages run in the README's scratch directory: their commands use the
# README's checkpoints (runs/smoke, runs/mine) and inputs, as a reader following the links does.
README_PAGES = ("docs/inpaint.md", "docs/train.md", "docs/eval.md", "docs/import_tf1.md",
                "docs/parity.md", "docs/performance.md")
TIMEOUT_S = 600  # per command: a training run on a loaded 2-core machine stays far below
NOISE = ("INFO:tensorflow", "Sharding callback", "remapper failed", "UserWarning",
         "USAGE:", "Try --helpfull")


def _blocks():
    return {doc: doc_blocks.read_blocks(os.path.join(REPO_ROOT, doc), display_path=doc)
            for doc in DOCS}


BLOCKS = _blocks()


# -- the units: one per shell command or Python block ---------------------------------------


class Unit:
    """One documented command (or Python block), as run in CI."""

    def __init__(self, block, index, text, skip=""):
        self.block, self.index, self.skip = block, index, skip
        self.documented = text
        self.text = text
        for old, new, _ in block.marker.replacements:
            self.text = self.text.replace(old, new)

    @property
    def doc(self):
        return self.block.path

    @property
    def id(self):
        return f"{self.block.path}:{self.block.line}:{self.index}"


def units():
    found = []
    for doc in DOCS:
        for block in BLOCKS[doc]:
            if block.kind == "not a command":
                continue
            if block.kind == "python":
                found.append(Unit(block, 0, block.text, block.marker.not_run))
                continue
            for index, command in enumerate(block.commands()):
                reason = block.marker.not_run or next(
                    (why for prefix, why in block.marker.not_run_prefixes
                     if command.startswith(prefix)), "")
                found.append(Unit(block, index, command, reason))
    return found


UNITS = units()


# -- generated inputs and the shared checkpoint ---------------------------------------------


def _texture(seed, index, height, width):
    side = max(height, width)
    return np.ascontiguousarray(builtin_images.texture(seed, index, side)[:height, :width])


def _box_mask(height, width, top, left, box_height, box_width):
    mask = np.zeros((height, width), np.uint8)
    mask[top:top + box_height, left:left + box_width] = 255
    return mask


def make_inputs(root):
    """The files the docs name, small: photos, masks, folders, a painted image."""
    write = write_image_atomic
    photo = _texture(1, 0, 192, 256)  # --box=64,32,100,80 and --box=10,200,40,40 fit
    write(os.path.join(root, "photo.jpg"), photo)
    write(os.path.join(root, "mask.png"), _box_mask(192, 256, 40, 60, 64, 80))
    painted = photo.copy()
    painted[50:90, 100:150] = (255, 0, 255)
    write(os.path.join(root, "painted.png"), painted)
    write(os.path.join(root, "big.jpg"), _texture(2, 1, 240, 320))
    write(os.path.join(root, "big_mask.png"), _box_mask(240, 320, 100, 120, 48, 64))
    for folder, mask_folder, count, (height, width) in (
            ("photos", "masks", 3, (64, 80)), ("my_photos", "my_masks", 2, (48, 40)),
            (os.path.join("home", "photos"), None, 4, (72, 72))):
        for i in range(count):
            write(os.path.join(root, folder, f"p{i}.png"), _texture(3, i, height, width))
            if mask_folder:
                write(os.path.join(root, mask_folder, f"p{i}.png"),
                      _box_mask(height, width, 8 + 4 * i, 10, 20, 16))


def _env(root):
    env = dict(os.environ, HOME=os.path.join(root, "home"))
    env["PATH"] = os.pathsep.join([BIN_DIR, env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(  # the checkout's gi_tf, as the editable install
        [REPO_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user sees: the console's own default
    return env


class Ran:
    """A finished shell command: exit status and output (stdout and stderr)."""

    def __init__(self, command, returncode, stdout, stderr):
        self.command, self.returncode = command, returncode
        self.stdout, self.stderr = stdout, stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def explain(self):
        return (f"$ {self.command}\nexit status {self.returncode}\n"
                f"stdout:\n{self.stdout[-3000:]}\nstderr:\n{self.stderr[-3000:]}")


def start(command, root):
    return subprocess.Popen(["bash", "-c", command], cwd=root, env=_env(root), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(command, process, timeout=TIMEOUT_S):
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"timed out after {timeout} s: {command}\n{stdout[-2000:]}{stderr[-2000:]}")
    return Ran(command, process.returncode, stdout, stderr)


def run_shell(command, root, timeout=TIMEOUT_S):
    return finish(command, start(command, root), timeout)


def _console_scripts():
    """``name -> module`` of setup.cfg's console scripts (``gi-train -> gi_tf.cli.train``)."""
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO_ROOT, "setup.cfg"))
    scripts = {}
    for line in config["options.entry_points"]["console_scripts"].strip().splitlines():
        name, target = (part.strip() for part in line.split("="))
        scripts[name] = target.split(":")[0]
    return scripts


CONSOLE_SCRIPTS = _console_scripts()
SHELL_SYNTAX = set("|&;<>$`(){}*?[]!\\")


def console_script_argv(command):
    """The argv of ``command`` when it is one console-script call without shell syntax
    (no pipes, redirections, globs, variables, ``~`` words), else None."""
    if SHELL_SYNTAX & set(command):
        return None
    words = shlex.split(command)
    if not words or words[0] not in CONSOLE_SCRIPTS or any(w.startswith("~") for w in words):
        return None
    return words


def _first_per_script():
    """``(doc, command)`` of the first runnable documented command of each console script."""
    first = {}
    for unit in UNITS:
        if unit.skip or unit.block.kind == "python":
            continue
        words = console_script_argv(unit.text)
        if words is not None:
            first.setdefault(words[0], (unit.doc, unit.text))
    return set(first.values())


FIRST_PER_SCRIPT = _first_per_script()
IN_PROCESS = []  # (doc, command) run through main(argv): listed for pytest -s / debugging


PACKAGE_DIR = os.path.join(REPO_ROOT, "gi_tf")


class _LogLines(logging.Handler):
    """absl's log records as the console shows them: gi_tf's own INFO lines (progress,
    "Done: ..."), and warnings and errors from anywhere. TensorFlow's INFO records
    ("Sharding callback duration") are quieted by the console set-up that
    :func:`gi_tf.cli.runner.run_app` makes for a console script, which the subprocess
    run of each console script checks; they are not part of a command's behaviour."""

    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream = stream

    def emit(self, record):
        own = os.path.realpath(record.pathname or "").startswith(
            os.path.realpath(PACKAGE_DIR) + os.sep)
        if own or record.levelno >= logging.WARNING:
            self.stream.write(record.getMessage() + "\n")


def run_in_process(command, words, root):
    """Run a console script's ``main`` in this process, in ``root``, as ``bash`` would.

    The program's flags are defined on a fresh ``absl.flags.FlagValues`` and parsed by
    the binaries' own parser (:func:`gi_tf.cli.runner.flags_parser`: one-line usage
    errors, ``~`` expanded against ``HOME``); ``main``'s ``app.UsageError`` becomes a
    one-line error as in :func:`gi_tf.cli.runner.run_app`; ``SystemExit`` is the exit
    status. stdout, stderr (Python warnings) and absl's log lines are the output.
    """
    from absl import flags

    from gi_tf.cli import runner

    module = importlib.import_module(CONSOLE_SCRIPTS[words[0]])
    values = flags.FlagValues()
    names = runner.define_program_flags(module.define_flags, values)
    out, err = io.StringIO(), io.StringIO()
    handler, logger = _LogLines(err), logging.getLogger("absl")
    level, before, home = logger.level, os.getcwd(), os.environ.get("HOME")
    os.environ["HOME"] = _env(root)["HOME"]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    code = 0
    try:
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                argv = runner.flags_parser(names, values)(words)
                runner.one_line_usage_errors(lambda a: module.main(a, values))(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
                if exit_.code is not None and not isinstance(exit_.code, int):
                    print(exit_.code, file=sys.stderr)
    finally:
        os.chdir(before)
        logger.removeHandler(handler)
        logger.setLevel(level)
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home
    IN_PROCESS.append((root, command))
    return Ran(command, code, out.getvalue(), err.getvalue())


def run_command(doc, command, root, repeat=False):
    """A documented shell command: a subprocess (``bash``) or in process (module doc).

    ``repeat``: the command was run before (the Train section's resume of the smoke
    run), so it runs in process even when it is its console script's first.
    """
    words = console_script_argv(command)
    if words is None or (doc, command) in FIRST_PER_SCRIPT and not repeat:
        return run_shell(command, root)
    return run_in_process(command, words, root)


TRAIN_SMOKE = "gi-train --preset=smoke --model_dir=runs/smoke"
TRAIN_MINE = ("gi-train --preset=smoke --data=~/photos --image_size=64 --max_steps=2 "
              "--model_dir=runs/mine")
EXPORT_MINE = "gi-export --checkpoint=runs/mine --export_dir=export/saved_models/gi_tf"
EXPORT_PLACES2 = "gi-export --checkpoint=runs/places2 --export_dir=export/saved_models/gi_tf"


class Workspaces:
    """One scratch directory per document, and commands already run there."""

    def __init__(self, base):
        self.roots = {}
        self.ran = {}  # (doc, command as run) -> Ran, for commands the fixture ran first
        for doc in DOCS:
            if doc in README_PAGES:
                continue
            root = os.path.join(base, doc.replace("/", "_").replace(".md", ""))
            os.makedirs(os.path.join(root, "home"))
            make_inputs(root)
            self.roots[doc] = root
        for doc in README_PAGES:
            self.roots[doc] = self.roots["README.md"]


def _run_ahead(spaces, commands):
    """Run ``(doc, command)`` pairs one after the other; their tests check the results."""
    for doc, command in commands:
        spaces.ran[(doc, command)] = ran = run_command(doc, command, spaces.roots[doc])
        assert ran.returncode == 0, ran.explain()


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    """Inputs per document, and what later commands need, run ahead (their tests check
    the recorded results): the README's two training commands, then its export and
    export/README.md's first one (``runs/places2``, ``runs/a``, ``runs/b``: links to the
    smoke run). ``demo_out/export`` (gi-demo's SavedModel in the docs) is a link to the
    README's export."""
    spaces = Workspaces(str(tmp_path_factory.mktemp("docs")))
    readme = spaces.roots["README.md"]
    _run_ahead(spaces, [("README.md", TRAIN_SMOKE), ("docs/train.md", TRAIN_MINE)])
    smoke = os.path.join(readme, "runs", "smoke")
    for doc, names in (("README.md", ("runs/a", "runs/b")),
                       ("export/README.md", ("runs/places2",))):
        for name in names:
            link = os.path.join(spaces.roots[doc], name)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(smoke, link)
    _run_ahead(spaces, [("README.md", EXPORT_MINE), ("export/README.md", EXPORT_PLACES2)])
    os.makedirs(os.path.join(readme, "demo_out"))
    os.symlink(os.path.join(readme, "export", "saved_models", "gi_tf"),
               os.path.join(readme, "demo_out", "export"))
    return spaces


# -- what each command promises -------------------------------------------------------------


def _ok(ran):
    assert ran.returncode == 0, ran.explain()
    noisy = [line for line in ran.output.splitlines() if any(n in line for n in NOISE)]
    assert not noisy, "noise in the output:\n" + "\n".join(noisy) + "\n" + ran.explain()


def _exists(root, *paths):
    for path in paths:
        assert os.path.exists(os.path.join(root, path)), f"{path} was not written"


def _known_pixels_kept(root, source, output, holes):
    """The output equals the (decoded) input outside ``holes`` and differs inside."""
    image, result = read_image(os.path.join(root, source)), read_image(os.path.join(root, output))
    assert result.shape == image.shape
    np.testing.assert_array_equal(result[~holes], image[~holes])
    assert np.any(result[holes] != image[holes])


def _boxes(shape, *boxes):
    holes = np.zeros(shape[:2], bool)
    for top, left, height, width in boxes:
        holes[top:top + height, left:left + width] = True
    return holes


def check_train_smoke(ran, root):
    _ok(ran)
    assert "Done: step 4, checkpoint runs/smoke/ckpt-4" in ran.output
    _exists(root, *(f"runs/smoke/{name}" for name in (
        "ckpt-4.index", "train_config.json", "model_config.json", "flags_used.flags")))


def check_train_mine(ran, root):
    _ok(ran)
    assert "Done: step 2, checkpoint runs/mine/ckpt-2" in ran.output
    with open(os.path.join(root, "runs", "mine", "data_config.json")) as handle:
        source = json.load(handle)["source"]
    assert source == os.path.join(root, "home", "photos")  # ~ is the home folder


def check_train_resumes(ran, root):
    _ok(ran)
    assert "Nothing to do: step 4 >= max_steps 4" in ran.output


def check_inpaint_box(ran, root):
    _ok(ran)
    _known_pixels_kept(root, "photo.jpg", "out.png", _boxes((192, 256), (64, 32, 100, 80)))


def check_inpaint_mask_panel(ran, root):
    _ok(ran)
    holes = read_mask(os.path.join(root, "mask.png"))
    _known_pixels_kept(root, "photo.jpg", "out/photo.png", holes)
    panel = read_image(os.path.join(root, "out", "photo_panel.png"))
    assert panel.shape[1] > 4 * 256  # input | masked | result | attention


def check_inpaint_folders(ran, root):
    _ok(ran)
    for i in range(3):
        holes = read_mask(os.path.join(root, "masks", f"p{i}.png"))
        _known_pixels_kept(root, f"photos/p{i}.png", f"out/p{i}.png", holes)
    assert "3 of 3 images written" in ran.output


def check_inpaint_big(ran, root):
    _ok(ran)
    holes = read_mask(os.path.join(root, "big_mask.png"))
    _known_pixels_kept(root, "big.jpg", "big_out.png", holes)


def check_inpaint_two_boxes(ran, root):
    _ok(ran)
    holes = _boxes((192, 256), (64, 32, 100, 80), (10, 200, 40, 40))
    _known_pixels_kept(root, "photo.jpg", "out.png", holes)


def check_inpaint_painted(ran, root):
    _ok(ran)
    _known_pixels_kept(root, "painted.png", "out.png", _boxes((192, 256), (50, 100, 40, 50)))


def check_inpaint_same_box(ran, root):
    _ok(ran)
    for i in range(3):
        _known_pixels_kept(root, f"photos/p{i}.png", f"out/p{i}.png",
                           _boxes((64, 80), (0, 0, 48, 48)))


def check_export(version, base="export/saved_models/gi_tf"):
    def check(ran, root):
        _ok(ran)
        _exists(root, *(f"{base}/{version}/{name}" for name in (
            "saved_model.pb", "variables", "assets.extra/model_config.json",
            "assets.extra/export_info.json")))
        assert not [name for name in os.listdir(os.path.join(root, base))
                    if name.startswith(".")]  # no staging directory left
    return check


def _summary(root, output_dir):
    with open(os.path.join(root, output_dir, "summary.csv")) as handle:
        return list(csv.DictReader(handle))


def check_eval_generated(ran, root):
    _ok(ran)
    _exists(root, *(f"eval_out/{name}" for name in (
        "metrics.csv", "summary.csv", "metrics.md", "examples.png")))
    methods = {row["method"] for row in _summary(root, "eval_out")}
    # the model is labelled by its own name: the folder above the generic "export"
    assert {"demo_out", "OpenCV Telea", "OpenCV NS"} <= methods, methods
    _exists(root, "eval_out/masks/box/p0.png", "eval_out/masks/free/p1.png")


def check_eval_two_models(ran, root):
    _ok(ran)
    methods = {row["method"] for row in _summary(root, "eval_out")}
    assert {"ours", "baseline", "OpenCV Telea", "OpenCV NS"} <= methods, methods


def check_request_json(ran, root):
    _ok(ran)
    with open(os.path.join(root, "request.json")) as handle:
        body = json.load(handle)
    assert body["signature_name"] == "inpaint_encoded"
    instance = body["instances"][0]
    with open(os.path.join(root, "photo.jpg"), "rb") as handle:
        assert base64.b64decode(instance["image_bytes"]["b64"]) == handle.read()
    with open(os.path.join(root, "mask.png"), "rb") as handle:
        assert base64.b64decode(instance["mask_bytes"]["b64"]) == handle.read()


def check_textures(ran, root):
    _ok(ran)
    for i in range(8):
        assert read_image(os.path.join(root, "tex256", f"t{i}.png")).shape == (256, 256, 3)


# docs/benchmarks.md §10, "PatchMatch vs OpenCV": hole l1 %, hole PSNR dB, hole SSIM
DOCUMENTED_BASELINES = {"OpenCV Telea": ("9.75", "17.03", "0.440"),
                        "OpenCV NS": ("9.81", "17.08", "0.437"),
                        "PatchMatch": ("6.43", "18.96", "0.491")}


def check_patchmatch_table(ran, root):
    _ok(ran)
    assert "examples.png" not in ran.output  # --num_examples=0 writes none
    rows = {row["method"]: row for row in _summary(root, "eval_pm")
            if row["mask_kind"] == "all"}
    for method, (l1, psnr, ssim) in DOCUMENTED_BASELINES.items():
        if method == "PatchMatch" and method not in rows:
            assert sys.version_info < (3, 11), "PatchMatch (the [test] extra) did not run"
            continue
        row = rows[method]
        got = (f"{float(row['l1_hole']):.2f}", f"{float(row['psnr_hole']):.2f}",
               f"{float(row['ssim_hole']):.3f}")
        assert got == (l1, psnr, ssim), f"{method}: documented {(l1, psnr, ssim)}, got {got}"


CHECKS = {
    ("README.md", TRAIN_SMOKE): check_train_smoke,
    ("README.md", "gi-inpaint --model=runs/smoke --image=photo.jpg --box=64,32,100,80 "
                  "--output=out.png"): check_inpaint_box,
    ("README.md", "gi-inpaint --model=demo_out/export --image=photo.jpg --mask=mask.png "
                  "--output=out/photo.png --panel"): check_inpaint_mask_panel,
    ("docs/inpaint.md", "gi-inpaint --model=runs/mine --image_dir=photos --mask_dir=masks "
                  "--output_dir=out"): check_inpaint_folders,
    ("docs/inpaint.md", "gi-inpaint --model=runs/mine --image=big.jpg --mask=big_mask.png "
                  "--output=big_out.png --max_side=1024"): check_inpaint_big,
    ("docs/inpaint.md", "gi-inpaint --model=runs/mine --image=photo.jpg --box=64,32,100,80 "
                  "--box=10,200,40,40 --output=out.png"): check_inpaint_two_boxes,
    ("docs/inpaint.md", "gi-inpaint --model=runs/mine --image=painted.png --mask_color=#FF00FF "
                  "--output=out.png"): check_inpaint_painted,
    ("docs/inpaint.md", "gi-inpaint --model=runs/mine --image_dir=photos --box=0,0,48,48 "
                  "--output_dir=out"): check_inpaint_same_box,
    ("docs/train.md", TRAIN_MINE): check_train_mine,
    ("README.md", EXPORT_MINE): check_export(1),
    ("README.md", "gi-eval --model=demo_out/export --images=my_photos/ --mask=box,free "
                  "--mask_seed=0 --output_dir=eval_out"): check_eval_generated,
    ("docs/eval.md", 'gi-eval --model="ours=runs/a" --model="baseline=runs/b" '
                  "--images=my_photos/ --masks=my_masks/ --output_dir=eval_out"):
        check_eval_two_models,
    ("export/README.md", "gi-export --checkpoint=runs/places2 "
                         "--export_dir=export/saved_models/gi_tf --version=7"): check_export(7),
    ("docs/benchmarks.md", 'python -c "from gi_tf.data import builtin_images as b; from '
                           "gi_tf.utils.image_io import write_image_atomic as w; "
                           "[w(f'tex256/t{i}.png', b.texture(11, i, 256)) for i in "
                           'range(8)]"'): check_textures,
    ("docs/benchmarks.md", "gi-eval --images=tex256 --mask=box,free --mask_seed=0 "
                           "--output_dir=eval_pm --noprogress --num_examples=0"):
        check_patchmatch_table,
}


def _check_for(unit):
    """The check of ``unit``; the same command twice may promise different things."""
    key = (unit.doc, unit.text)
    if unit.text.startswith("printf '{\"signature_name\": \"inpaint_encoded\""):
        return check_request_json
    if key == ("docs/train.md", "gi-train --preset=smoke --model_dir=runs/smoke") and \
            unit.documented != unit.text:  # the Train section's /tmp/gi_smoke: a resume
        return check_train_resumes
    if key == ("export/README.md", EXPORT_PLACES2):
        return check_export(unit.index + 1)  # the next free version: 1, then 2
    if key not in CHECKS:
        pytest.fail(f"{unit.id}: no check for the documented command {unit.text!r}: add one "
                    "to CHECKS, or mark it in the doc (tests/docs/doc_blocks.py)")
    return CHECKS[key]


# -- Python blocks: the names the reader brings ---------------------------------------------


def given_names(unit, root):
    """Values of the names a Python block's marker says the reader provides."""
    image = _texture(4, 2, 60, 84)
    mask = _boxes(image.shape, (16, 20, 24, 30))
    values = {
        "image": image, "mask": mask,
        # the Keras generator takes sizes that are multiples of 8 (the README says so)
        "image_m11": (image[None, :56, :80].astype("float32") / 127.5 - 1.0),
        "holes": mask[None, :56, :80, None].astype("float32"),
        "images": np.stack([image, image[:, ::-1]]),
        "masks": np.stack([mask, mask[:, ::-1]])[..., None].astype("uint8") * 255,
    }
    missing = set(unit.block.marker.given) - set(values)
    assert not missing, f"{unit.id}: the test provides no value for {sorted(missing)}"
    return {name: values[name] for name in unit.block.marker.given}


def check_python(unit, namespace):
    image, mask = namespace.get("image"), namespace.get("mask")
    if unit.doc == "README.md":
        result, attention = namespace["result"], namespace["attention"]
        assert result.shape == image.shape == attention.shape and result.dtype == np.uint8
        np.testing.assert_array_equal(result[~mask], image[~mask])  # known pixels bit-exact
        assert np.any(result[mask] != image[mask])
        coarse, refined, offsets = (namespace[n] for n in ("coarse", "refined", "offsets"))
        assert coarse.shape == refined.shape == namespace["image_m11"].shape
        assert tuple(offsets.shape) == (1, 56 // 8, 80 // 8, 2)
    else:  # export/README.md, "Loading in Python" (``attention`` is rebound at the end)
        inpainted, images = namespace["inpainted"], namespace["images"]
        assert inpainted.shape == images.shape and inpainted.dtype == np.uint8
        result = namespace["result"]
        assert result.shape == image.shape == namespace["attention"].shape
        np.testing.assert_array_equal(result[~mask], image[~mask])


# -- the tests ------------------------------------------------------------------------------


def test_every_documented_block_is_run_or_marked():
    """Each bash/python block runs, or its marker says why not; other blocks are listed."""
    listing = []
    for doc in DOCS:
        for block in BLOCKS[doc]:
            if block.kind == "not a command":
                listing.append(f"{block.name} ({block.language or 'plain'}): not a command")
                continue
            block_units = [u for u in UNITS if u.block is block]
            assert block_units, f"{block.name}: a {block.kind} block with nothing in it"
            for unit in block_units:
                state = f"not run: {unit.skip}" if unit.skip else "runs in CI"
                listing.append(f"{unit.id} [{block.heading}] {unit.documented[:70]!r}: {state}")
            for prefix, _ in block.marker.not_run_prefixes:
                assert any(u.documented.startswith(prefix) for u in block_units), (
                    f"{block.name}: the marker names `{prefix}`, which no command starts with")
            for old, _, _ in block.marker.replacements:
                assert any(old in u.documented for u in block_units), (
                    f"{block.name}: the marker replaces `{old}`, which no command contains")
    print("\n".join(listing))  # pytest -s shows the list; skipped units list their reasons


def test_marker_grammar():
    text = textwrap.dedent("""\
        <!-- doc-test
        not run `pip install`: installs the package itself
        in CI `--max_steps=2000` -> `--max_steps=2`: two steps
        given: image, mask
        -->

        ```bash
        pip install .   # comment
        gi-train --max_steps=2000 \\
            --model_dir=runs/m
        # a comment line
        ```

        <!-- doc-test: not run: needs Docker -->
        ```bash
        docker run x
        ```
        ```bibtex
        @x{}
        ```
        """)
    first, second, third = doc_blocks.read_blocks("x.md", text=text)
    assert first.commands() == ["pip install .", "gi-train --max_steps=2000 --model_dir=runs/m"]
    assert first.marker.not_run_prefixes == [("pip install", "installs the package itself")]
    assert first.marker.replacements == [("--max_steps=2000", "--max_steps=2", "two steps")]
    assert first.marker.given == ("image", "mask") and first.marker.not_run == ""
    assert second.marker.not_run == "needs Docker" and third.kind == "not a command"
    with pytest.raises(doc_blocks.MarkerError, match="unknown doc-test directive"):
        doc_blocks.read_blocks("y.md", text="<!-- doc-test: skip it -->\n```bash\nls\n```\n")


@pytest.mark.parametrize("unit", UNITS, ids=[unit.id for unit in UNITS])
def test_documented_command(unit, workspaces, monkeypatch):
    if unit.skip:
        pytest.skip(f"not run in CI ({unit.doc}, {unit.block.heading}): {unit.skip}")
    root = workspaces.roots[unit.doc]
    if unit.block.kind == "python":
        monkeypatch.chdir(root)
        namespace = given_names(unit, root)
        exec(compile(unit.text, unit.id, "exec"), namespace)
        check_python(unit, namespace)
        return
    check = _check_for(unit)
    ran = workspaces.ran.pop((unit.doc, unit.text), None)  # run ahead: once
    resume = unit.documented != unit.text and unit.text == TRAIN_SMOKE
    if ran is None or resume:
        ran = run_command(unit.doc, unit.text, root, repeat=resume)
    check(ran, root)


def test_each_console_script_runs_once_as_a_subprocess():
    """The commands that run in process are the repeats of a console script already run
    as the user runs it (a subprocess), so the start-up (exit status, no noise) of every
    documented console script is still checked."""
    scripts = {console_script_argv(command)[0] for _, command in FIRST_PER_SCRIPT}
    documented = {words[0] for words in (console_script_argv(u.text) for u in UNITS
                                         if not u.skip and u.block.kind != "python")
                  if words is not None}
    assert scripts == documented and len(FIRST_PER_SCRIPT) == len(scripts)
    assert {"gi-train", "gi-inpaint", "gi-export", "gi-eval"} <= scripts, scripts


def test_in_process_commands_parse_as_the_console_script_does():
    """``console_script_argv`` takes exactly the commands bash would pass unchanged."""
    assert console_script_argv('gi-eval --model="ours=runs/a" --images=x/') == [
        "gi-eval", "--model=ours=runs/a", "--images=x/"]
    assert console_script_argv("gi-inpaint --mask_color=#FF00FF --output=o.png") == [
        "gi-inpaint", "--mask_color=#FF00FF", "--output=o.png"]
    for command in ("gi-train --data=$HOME/p", "gi-inpaint --image=*.png", "ls runs",
                    "gi-eval --images=a > log.txt", "cd x && gi-export", "gi-eval ~/photos",
                    'python -c "print(1)"'):
        assert console_script_argv(command) is None, command


def test_no_command_is_left_without_a_check():
    for unit in UNITS:
        if not unit.skip and unit.block.kind != "python":
            _check_for(unit)  # fails naming the command if there is none

