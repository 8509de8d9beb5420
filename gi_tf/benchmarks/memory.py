"""Peak memory of the contextual attention, full vs chunked, each case in a fresh process.

Image sizes 512^2, 1024^2 and 1920x1080 give the generator's attention a feature map
of ``H/4 x W/4 x 128`` matched on an ``H/8 x W/8`` grid: ``L = H*W/64`` positions and an
``L x L`` score matrix per image (64 MB, 1.07 GB, 4.2 GB in float32). "full" holds it
whole; "chunked" (``chunk_elements``) holds a band of foreground rows at a time.

Each case runs in its own Python process so peaks do not accumulate: on a GPU the
figure is TensorFlow's allocator peak (``tf.config.experimental.get_memory_info``); on
CPU it is the process's peak resident memory during the first call at the size (Linux
``VmHWM``, reset through ``/proc/self/clear_refs`` before the call; ``ru_maxrss`` where
that is not allowed) minus the resident memory just before it. A case whose estimate exceeds half
the memory available is skipped (the machine may be shared; the OOM killer helps nobody).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import fraction_of_yardstick
from gi_tf.benchmarks.flops import attention_flops
from gi_tf.layers import ContextualAttention
from gi_tf.layers.attention_chunked import chunk_rows

NAME = "memory"
TITLE = "attention peak memory (fresh process per case, batch 1)"
COLUMNS = ["image", "features", "variant", "chunks", "scores_mb", "estimate_mb", "peak_mb",
           "device", "first_s", "seconds", "of_matmul"]
CHANNELS = 128
# Score-sized buffers alive at once in the full formulation (scores, propagation,
# softmax input/output...): a planning estimate, checked against the measured peaks.
FULL_SCORE_COPIES = 6
RESULT_PREFIX = "MEMORY_RESULT "
CHILD_TIMEOUT_S = 3600
QUICK_CHUNK_ELEMENTS = 4096  # small enough that --quick really takes the chunked path


def image_sizes(quick):
    """``(height, width)`` of the images whose attention is measured."""
    return [(64, 64), (128, 96)] if quick else [(512, 512), (1024, 1024), (1080, 1920)]


def size_labels(height, width):
    """``(image, features)`` labels of a case, both width x height (x channels).

    The attention's features are ``H/4 x W/4`` (in tensor order ``[H/4, W/4, 128]``);
    written in the image's order so a 1920x1080 image reads ``480x270x128``.
    """
    return f"{width}x{height}", f"{width // 4}x{height // 4}x{CHANNELS}"


def estimate_bytes(height, width, variant, chunk_elements):
    """Planning estimate of the attention's extra memory for an image ``height x width``."""
    length = (height // 8) * (width // 8)
    features = (height // 4) * (width // 4) * CHANNELS * 4 * 30  # patch matrices etc.
    entries = length * length if variant == "full" else min(length * length, chunk_elements)
    return FULL_SCORE_COPIES * 4 * entries + features


def chunk_count(height, width, chunk_elements):
    """Foreground row chunks the chunked attention uses for an image (1 = the full path).

    Rows per chunk: :func:`gi_tf.layers.attention_chunked.chunk_rows`, the layer's rule.
    """
    grid_h, grid_w = height // 8, width // 8
    length = grid_h * grid_w
    if grid_h * grid_w * length <= chunk_elements:
        return 1
    return -(-grid_h // chunk_rows(chunk_elements, grid_h, grid_w))


def available_bytes():
    """MemAvailable from /proc/meminfo (None where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_resident():
    """Reset the kernel's peak-RSS mark (VmHWM); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_resident_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


class _PeakMeter:
    """Peak extra memory of one call: GPU allocator peak, or CPU peak RSS (VmHWM)."""

    def __init__(self, gpu):
        self.tf, self.gpu = tf, gpu

    def start(self):
        if self.gpu:
            self.tf.config.experimental.reset_memory_stats("GPU:0")
            self.before = self.tf.config.experimental.get_memory_info("GPU:0")["current"]
        else:
            self.resettable = _reset_peak_resident()
            self.before = _resident_bytes()

    def peak(self):
        if self.gpu:
            return self.tf.config.experimental.get_memory_info("GPU:0")["peak"] - self.before
        if not self.resettable:
            # lazy: Unix only, a fallback
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.before
        return _peak_resident_bytes() - self.before


def measure(height, width, variant, chunk_elements, seed=0):
    """In this process: peak extra bytes of the first attention call, seconds of two calls.

    The peak is taken on the first call at this size: a second call reuses memory the
    allocators kept from the first and shows almost no growth. A tiny warm-up call
    beforehand keeps one-off runtime set-up out of the figure.
    """
    fh, fw = height // 4, width // 4
    chunk = None if variant == "full" else chunk_elements
    layer = ContextualAttention(rate=2, chunk_elements=chunk)
    forward = tf.function(lambda f, m: layer(f, f, m))
    forward(tf.zeros((1, 16, 16, CHANNELS)), tf.zeros((1, 16, 16, 1)))
    rng = np.random.default_rng(seed)
    features = tf.constant(rng.standard_normal((1, fh, fw, CHANNELS)).astype("float32"))
    holes = tf.constant(centre_holes(1, fh, fw))
    gpu = bool(tf.config.list_logical_devices("GPU"))
    meter = _PeakMeter(gpu)
    result = {"device": "GPU" if gpu else "CPU"}
    for call in ("first", "second"):
        meter.start()
        start = time.perf_counter()
        y, offsets = forward(features, holes)
        y.numpy(), offsets.numpy()
        result[f"{call}_seconds"] = time.perf_counter() - start
        if call == "first":
            result["peak_bytes"] = meter.peak()
    return result


def _child_env():
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_child_module(module, args, prefix=RESULT_PREFIX):
    """``python -m module *args`` in a fresh interpreter; the JSON it printed after
    ``prefix`` (RuntimeError with the child's last lines otherwise)."""
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, env=_child_env(), timeout=CHILD_TIMEOUT_S)
    for line in done.stdout.splitlines():
        if line.startswith(prefix):
            return json.loads(line[len(prefix):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    raise RuntimeError(f"child exited {done.returncode}: {' | '.join(tail)}")


def measure_in_subprocess(height, width, variant, chunk_elements, seed=0):
    """Run :func:`measure` in a fresh interpreter; returns its dict (raises on failure)."""
    request = json.dumps({"height": height, "width": width, "variant": variant,
                          "chunk_elements": chunk_elements, "seed": seed})
    return run_child_module("gi_tf.benchmarks.memory", [request])


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    available = available_bytes()
    chunk_elements = QUICK_CHUNK_ELEMENTS if settings.quick else settings.chunk_elements
    for height, width in image_sizes(settings.quick):
        length = (height // 8) * (width // 8)
        for variant in ("full", "chunked"):
            estimate = estimate_bytes(height, width, variant, chunk_elements)
            chunks = 1 if variant == "full" else chunk_count(height, width, chunk_elements)
            image, features = size_labels(height, width)
            row = {"image": image, "features": features,
                   "variant": variant, "chunks": chunks, "scores_mb": 4 * length * length / 2**20,
                   "estimate_mb": estimate / 2**20}
            if available is not None and estimate > available / 2:
                row["error"] = (f"skipped: estimate {estimate / 2**30:.1f} GiB > half of the "
                                f"{available / 2**30:.1f} GiB available")
                section.rows.append(row)
                continue
            try:
                result = measure_in_subprocess(height, width, variant, chunk_elements,
                                               settings.seed)
            except Exception as exc:
                row["error"] = error_text(exc)
                section.rows.append(row)
                continue
            flops = attention_flops(1, height // 4, width // 4, CHANNELS)
            _, fraction = fraction_of_yardstick(flops, result["second_seconds"], context)
            row.update({"peak_mb": result["peak_bytes"] / 2**20,
                        "device": result["device"], "first_s": result["first_seconds"],
                        "seconds": result["second_seconds"], "of_matmul": fraction})
            section.rows.append(row)
    section.notes.append(f"chunked: chunk_elements={chunk_elements} score entries "
                         f"({4 * chunk_elements / 2**20:.1f} MB) per chunk; chunks = 1: it fits, "
                         "the full path runs")
    section.notes.append("image and features: width x height (x channels)")
    section.notes.append("peak_mb: first call at the size; first_s: that call (includes graph "
                         "optimisation); seconds: the second call")
    return section


def _child_main(argv):
    request = json.loads(argv[1])
    result = measure(request["height"], request["width"], request["variant"],
                     request["chunk_elements"], request.get("seed", 0))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    _child_main(sys.argv)
