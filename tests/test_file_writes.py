"""Guard: every file write in gi_tf goes through gi_tf.utils.files (the file layer).

Scans the package's source (AST, not text, so comments and strings do not count) for
calls that write, move, create or delete files directly: ``open(...)`` in a write or
append mode, ``os.replace/rename/makedirs/...``, ``shutil.move/rmtree/copy*``,
``cv2.imwrite``, ``json.dump`` to a file, ``np.save*`` and pathlib writes. Import aliases
are followed (``import numpy as np``, ``from os import replace``). The only modules
allowed to make such calls are the layer's, in ``gi_tf/utils/files/``; a few calls that are
not file writes at all (writing a procfs control file) are listed in ``ALLOWED`` with a reason.
``tf.io.gfile`` writes count too; streaming writers such as ``tf.io.TFRecordWriter`` are
not flagged: they are meant to write the temporary path of ``files.atomic_path(s)``.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "gi_tf"
FILE_LAYER = "gi_tf/utils/files/"  # the package: every module in it

FORBIDDEN = {
    "os.replace", "os.rename", "os.renames", "os.makedirs", "os.mkdir", "os.remove",
    "os.unlink", "os.rmdir", "os.removedirs", "os.truncate",
    "shutil.move", "shutil.rmtree", "shutil.copy", "shutil.copy2", "shutil.copyfile",
    "shutil.copytree", "shutil.copyfileobj",
    "cv2.imwrite",
    "json.dump",
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
    "io.open", "os.fdopen", "os.open",
    "tensorflow.io.gfile.rename", "tensorflow.io.gfile.remove", "tensorflow.io.gfile.makedirs",
    "tensorflow.io.gfile.mkdir", "tensorflow.io.gfile.rmtree", "tensorflow.io.gfile.copy",
    "tensorflow.io.write_file",
}
# Called like open(path, mode): flagged in a write or append mode.
OPEN_LIKE = {"open", "builtins.open", "io.open", "tensorflow.io.gfile.GFile"}
# pathlib.Path methods that write (names no str/bytes method shares); flagged on any
# receiver except the layer itself (``files.write_text``).
PATH_WRITE_METHODS = {"write_text", "write_bytes", "mkdir", "touch"}
LAYER_NAMES = {"gi_tf.utils.files"}

# (module, call, first argument) -> why it is not a file write.
ALLOWED = {
    ("gi_tf/benchmarks/memory.py", "open", "/proc/self/clear_refs"):
        "procfs control file (resets the peak-RSS counter), not data",
    ("gi_tf/benchmarks/jax_check.py", "numpy.savez", "buffer"):
        "into an io.BytesIO that files.write_bytes then writes",
}


def _aliases(tree):
    """``{local name: dotted module or object}`` from the module's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _resolve(dotted, aliases):
    head, _, rest = dotted.partition(".")
    full = aliases.get(head, head)
    full = "numpy" if full == "np" else full
    return f"{full}.{rest}" if rest else full


def _open_mode(call):
    """The mode argument of an ``open`` call: a str, None (absent) or ``...`` (not constant)."""
    mode = call.args[1] if len(call.args) > 1 else next(
        (kw.value for kw in call.keywords if kw.arg == "mode"), None)
    if mode is None:
        return None
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return mode.value
    return ...


def _first_argument(call):
    """The first argument: its value if a constant, else its source text."""
    if not call.args:
        return None
    if isinstance(call.args[0], ast.Constant):
        return call.args[0].value
    return ast.unparse(call.args[0])


def offenders_in(source, relative):
    """``["path:line: what"]`` for every direct file write in ``source``."""
    tree = ast.parse(source, filename=relative)
    aliases = _aliases(tree)
    found = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        dotted = _dotted(call.func)
        name = _resolve(dotted, aliases) if dotted else ""
        what = None
        if name in OPEN_LIKE:
            mode = _open_mode(call)
            if mode is ... or (mode is not None and set(mode) & set("wax+")):
                what = f"open(..., {mode!r})" if mode is not ... else "open(..., <mode>)"
        elif name in FORBIDDEN:
            what = name
        elif isinstance(call.func, ast.Attribute) and call.func.attr in PATH_WRITE_METHODS:
            receiver = _dotted(call.func.value)
            if receiver is None or _resolve(receiver, aliases) not in LAYER_NAMES:
                what = f".{call.func.attr}()"
        if what is None:
            continue
        key = (relative, name.split(".")[-1] if name.endswith("open") else name,
               _first_argument(call))
        if key in ALLOWED:
            continue
        found.append(f"{relative}:{call.lineno}: {what}")
    return found


def _package_offenders():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative.startswith(FILE_LAYER):
            continue
        found.extend(offenders_in(path.read_text(encoding="utf-8"), relative))
    return found


def test_every_write_goes_through_the_file_layer():
    found = _package_offenders()
    assert not found, (
        "direct file writes outside gi_tf/utils/files/ (use gi_tf.utils.files: "
        "write_bytes/write_text/write_json, atomic_path(s), makedirs, remove, rmtree, "
        "publish_directory):\n  " + "\n  ".join(found))


@pytest.mark.parametrize("source, expected", [
    ("open('x', 'w')", ["m.py:1: open(..., 'w')"]),
    ("with open(p, mode='ab') as f: pass", ["m.py:1: open(..., 'ab')"]),
    ("open(p, m)", ["m.py:1: open(..., <mode>)"]),
    ("import os\nos.replace(a, b)", ["m.py:2: os.replace"]),
    ("from os import makedirs as md\nmd(d)", ["m.py:2: os.makedirs"]),
    ("import shutil\nshutil.rmtree(d, ignore_errors=True)", ["m.py:2: shutil.rmtree"]),
    ("import numpy as np\nnp.savez(p, a=1)", ["m.py:2: numpy.savez"]),
    ("import json\njson.dump(v, f)", ["m.py:2: json.dump"]),
    ("import cv2\ncv2.imwrite(p, a)", ["m.py:2: cv2.imwrite"]),
    ("import pathlib\npathlib.Path(p).write_text('x')", ["m.py:2: .write_text()"]),
    ("import tensorflow as tf\ntf.io.gfile.rename(a, b)", ["m.py:2: tensorflow.io.gfile.rename"]),
    ("import tensorflow as tf\nwith tf.io.gfile.GFile(p, 'wb') as f: pass",
     ["m.py:2: open(..., 'wb')"]),
    ("import tensorflow as tf\ntf.io.gfile.GFile(p, 'rb').read()", []),
    # Not writes: reading, json.dumps, the layer itself.
    ("open('x')\nopen('x', 'rb')\nimport json\njson.dumps(v)", []),
    ("from gi_tf.utils import files\nfiles.write_text(p, 'x')\nfiles.makedirs(d)", []),
    ("# os.replace(a, b) in a comment\ns = 'shutil.rmtree(d)'", []),
])
def test_the_scan_finds_direct_writes(source, expected):
    assert offenders_in(source, "m.py") == expected


def test_allowed_calls_are_still_in_the_source():
    """An ALLOWED entry that no longer matches anything must be removed, not kept."""
    for module, call, argument in ALLOWED:
        tree = ast.parse((PACKAGE.parent / module).read_text(encoding="utf-8"))
        assert any(isinstance(node, ast.Call) and _dotted(node.func)
                   and _dotted(node.func).split(".")[-1] == call.split(".")[-1]
                   and _first_argument(node) == argument for node in ast.walk(tree)), \
            (module, call, argument)
