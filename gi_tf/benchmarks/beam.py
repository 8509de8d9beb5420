"""Dataset throughput: ``gi-inpaint --image_dir`` beside ``gi-inpaint-beam`` on the DirectRunner.

One export (``--checkpoint``'s generator, else seeded random weights: the speed is the same)
and one seeded folder of mixed-size images (sides 128 to 768, many non-square) with a
mask each (a centred hole of a quarter of each side, paired by stem) run through three commands, each in a fresh process, one after another:

* ``gi-inpaint``: ``gi-inpaint --image_dir --mask_dir`` (one process, image by image);
* ``beam_1``: ``gi-inpaint-beam`` on the DirectRunner, its default in-process engine (one
  worker, in the launching process);
* ``beam_2mp``: ``-- --direct_num_workers=2 --direct_running_mode=multi_processing`` (two
  SDK worker processes, each loads the export; the launcher only schedules).

Each command runs on the first ``small`` images and on all ``n`` images (8 and 64; 2 and 4
with ``--quick``, sides 32 to 64). Rows: ``seconds`` (wall time of the whole command, start
of Python to exit), ``images_per_s`` (n / seconds), ``peak_mb`` (the largest peak resident
set, VmHWM, of one process of the command: for ``beam_2mp`` a worker), ``launcher_mb`` (the
command's own process), ``processes`` (how many Python processes it ran); and the fit
``seconds = startup_s + per_image_s * n`` through the two runs of each command (startup:
imports, loading the export, tracing, Beam's pipeline set-up; per image: reading, network,
writing). The peaks are sampled from ``/proc/<pid>/status`` every 0.1 s over the process
tree (VmHWM is each process's own high-water mark, so a sample late in its life is its
peak); without ``/proc`` they are None. Skipped with one line when Apache Beam is missing.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.generator import make_generator
from gi_tf.utils import files
from gi_tf.utils import image_io

NAME = "beam"
TITLE = "Dataset throughput: gi-inpaint --image_dir vs gi-inpaint-beam (DirectRunner)"
COLUMNS = ["command", "images", "seconds", "images_per_s", "peak_mb", "launcher_mb",
           "processes", "startup_s", "per_image_s"]
COMMANDS = ("gi-inpaint", "beam_1", "beam_2mp")
FULL_COUNTS = (8, 64)
QUICK_COUNTS = (2, 4)
FULL_SIDES = (128, 256, 384, 512, 640, 768)
QUICK_SIDES = (32, 48, 64)
POLL_S = 0.1
TIMEOUT_S = 3600


def beam_version():
    """Apache Beam's version, or None when it is not installed (without importing it)."""
    if importlib.util.find_spec("apache_beam") is None:
        return None
    # lazy: Beam is optional and slow to import
    import apache_beam

    return apache_beam.__version__


def image_sizes(count, quick, seed=0):
    """``count`` seeded ``(height, width)``: sides drawn independently (mixed, non-square)."""
    sides = QUICK_SIDES if quick else FULL_SIDES
    rng = np.random.default_rng(seed)
    return [(int(rng.choice(sides)), int(rng.choice(sides))) for _ in range(count)]


def write_dataset(directory, sizes, seed=0):
    """Smooth seeded images ``<directory>/in/im000.png``... and their masks (a centred box of
    a quarter of each side) in ``<directory>/masks``; returns ``(image dir, mask dir)``."""
    image_dir, mask_dir = os.path.join(directory, "in"), os.path.join(directory, "masks")
    files.makedirs(image_dir)
    files.makedirs(mask_dir)
    for i, (h, w) in enumerate(sizes):
        rng = np.random.default_rng(seed + i)
        y, x = np.mgrid[0:h, 0:w]
        phase = rng.uniform(0, 2 * np.pi, 3)
        image = np.stack([127.5 + 100 * np.sin(x / (9 + 4 * c) + y / (13 + 3 * c) + phase[c])
                          for c in range(3)], -1)
        image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
        mask = np.zeros((h, w), np.uint8)
        mask[h * 3 // 8:h * 5 // 8, w * 3 // 8:w * 5 // 8] = 255
        image_io.write_image_atomic(os.path.join(image_dir, f"im{i:03d}.png"), image)
        image_io.write_image_atomic(os.path.join(mask_dir, f"im{i:03d}.png"), mask)
    return image_dir, mask_dir


def commands(model, image_dir, mask_dir, output_dir):
    """``{name: argv}`` of :data:`COMMANDS` over ``image_dir`` (masks paired by stem)."""
    python = sys.executable
    beam = [python, "-m", "gi_tf.cli.inpaint_beam", f"--model={model}",
            f"--images={image_dir}/*.png", f"--masks={mask_dir}/*.png"]
    return {
        "gi-inpaint": [python, "-m", "gi_tf.cli.inpaint", f"--model={model}",
                       f"--image_dir={image_dir}", f"--mask_dir={mask_dir}",
                       f"--output_dir={output_dir}/gi-inpaint"],
        "beam_1": beam + [f"--output_dir={output_dir}/beam_1"],
        "beam_2mp": beam + [f"--output_dir={output_dir}/beam_2mp", "--",
                            "--direct_num_workers=2", "--direct_running_mode=multi_processing"],
    }


def _children():
    """``{parent pid: [child pids]}`` from ``/proc`` (empty without it)."""
    tree = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _vm_hwm_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _is_python(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"python" in f.read().split(b"\0", 1)[0]
    except OSError:
        return False


def run_measured(argv, timeout=TIMEOUT_S):
    """Run ``argv``; returns ``(seconds, {pid: peak bytes} of its Python processes, the
    launcher's pid)``. Raises RuntimeError with the last lines of its output when it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        peaks = {}
        while process.poll() is None:
            tree, todo = _children(), [process.pid]
            while todo:
                pid = todo.pop()
                todo.extend(tree.get(pid, ()))
                if pid == process.pid or _is_python(pid):
                    hwm = _vm_hwm_bytes(pid)
                    if hwm is not None:
                        peaks[pid] = max(peaks.get(pid, 0), hwm)
            if time.perf_counter() - start > timeout:
                process.kill()
                process.wait()
                raise RuntimeError(f"{argv[2]} ran past {timeout} s")
            time.sleep(POLL_S)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{argv[2]} exited {process.returncode}: " + " | ".join(tail))
    return seconds, peaks, process.pid


def fit(counts, seconds):
    """``(startup_s, per_image_s)`` of the line through two ``(n, seconds)`` points."""
    (n0, t0), (n1, t1) = zip(counts, seconds)
    per_image = (t1 - t0) / (n1 - n0)
    return t0 - per_image * n0, per_image


def _mb(value):
    return None if value is None else round(value / 2**20)


def measure_row(name, argv, count):
    seconds, peaks, launcher = run_measured(argv)
    workers = [v for pid, v in peaks.items() if pid != launcher]
    return {"command": name, "images": count, "seconds": round(seconds, 2),
            "images_per_s": round(count / seconds, 3),
            "peak_mb": _mb(max(peaks.values(), default=None)),
            "launcher_mb": _mb(peaks.get(launcher)), "processes": 1 + len(workers)}


def export_model(settings, directory):
    """The bench generator exported to ``directory`` (version 1); returns its path."""
    # lazy: the export module pulls in the serving signatures
    from gi_tf.inference.export import export_generator
    from gi_tf.models.checkpoints import load_generator
    from gi_tf.models.config import ModelConfig

    config = load_generator(settings.checkpoint)[1] if settings.checkpoint else ModelConfig()
    return export_generator(make_generator(settings), config, directory, version=1)


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    version = beam_version()
    if version is None:
        section.notes.append("skipped: Apache Beam is not installed "
                             "(pip install 'gi_tf[beam]')")
        return section
    counts = QUICK_COUNTS if settings.quick else FULL_COUNTS
    sizes = image_sizes(max(counts), settings.quick, settings.seed)
    with tempfile.TemporaryDirectory(prefix="gi_tf_bench_beam_") as tmp:
        try:
            model = export_model(settings, os.path.join(tmp, "model"))
        except Exception as exc:
            section.rows.append({"error": f"export failed: {error_text(exc)}"})
            return section
        data = {n: write_dataset(os.path.join(tmp, f"data{n}"), sizes[:n], settings.seed)
                for n in counts}  # the small set: the first images of the full one
        for name in COMMANDS:
            rows = []
            for count in counts:
                argv = commands(model, *data[count], os.path.join(tmp, f"out{count}"))[name]
                try:
                    rows.append(measure_row(name, argv, count))
                except Exception as exc:
                    rows.append({"command": name, "images": count,
                                 "error": error_text(exc)})
            if all("error" not in r for r in rows):
                startup, per_image = fit(counts, [r["seconds"] for r in rows])
                rows[-1].update(startup_s=round(startup, 2), per_image_s=round(per_image, 3))
            section.rows.extend(rows)
    pixels = [h * w for h, w in sizes]
    section.notes += [
        f"apache-beam {version}; {len(sizes)} images, sides {min(min(s) for s in sizes)} to "
        f"{max(max(s) for s in sizes)}, {sum(h != w for h, w in sizes)} non-square, "
        f"{sum(pixels) / 1e6:.1f} MP; the first {counts[0]} for the small runs; a mask each: "
        "a centred hole of a quarter of each side (1/16 of the pixels)",
        "seconds: the whole command (Python start to exit); peak_mb: the largest VmHWM of "
        "one of its processes (beam_2mp: a worker); startup_s + per_image_s * n: the line "
        f"through n = {counts[0]} and {counts[1]}",
    ]
    return section
