"""Shared pieces of the benchmark sections: settings, timing, result rows, tables.

Every section module exposes ``NAME``, ``TITLE`` and ``run(settings, context) ->
Section``; ``context`` is a dict the runner fills as sections finish (the yardstick
stores ``"matmul_gflops"`` there, so later sections can express their speed as a
fraction of the machine's matmul rate measured in the same run).
"""

import dataclasses
import statistics
import time

import numpy as np

from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS
from gi_tf.utils.options import option

# The inference default (TensorFlow-free, so the benchmark CLI's --help stays light).
DEFAULT_CHUNK_ELEMENTS = DEFAULT_ATTENTION_CHUNK_ELEMENTS


def parse_cases(text, what="training"):
    """``"256x4,128x1"`` -> ``[(256, 4), (128, 1)]``; raises ``ValueError`` naming a bad item
    (and ``what`` the cases are for)."""
    cases = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        size, _, batch = item.partition("x")
        if not (size.isdigit() and batch.isdigit() and int(size) >= 32 and int(batch) >= 1):
            raise ValueError(f"{what} case {item!r}: expected SIZExBATCH such as 256x4")
        cases.append((int(size), int(batch)))
    return cases


# The original section's kinds of comparison (gi_tf.benchmarks.original).
ORIGINAL_KINDS = ("generator", "inpaint", "training")


@dataclasses.dataclass(frozen=True)
class OriginalCase:
    """One comparison: ``kind`` in :data:`ORIGINAL_KINDS`, image side ``size``, ``batch``."""

    kind: str
    size: int
    batch: int = 1

    @property
    def name(self):
        if self.kind == "training":
            return f"training {self.size}x{self.size}"
        return f"{self.kind} {self.size}x{self.size}"


def parse_original_cases(text):
    """``"generator:256,training:256x4"`` -> ``[OriginalCase]``.

    Raises ``ValueError`` naming a bad item (unknown kind, size not a multiple of 8).
    """
    found = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, size = item.partition(":")
        if kind not in ORIGINAL_KINDS:
            raise ValueError(f"original case {item!r}: kind must be one of "
                             f"{list(ORIGINAL_KINDS)}")
        if kind == "training":
            try:
                (side, batch), = parse_cases(size)
            except ValueError:
                raise ValueError(f"original case {item!r}: expected training:SIZExBATCH such "
                                 "as training:256x4") from None
        elif size.isdigit() and int(size) >= 32 and int(size) % 8 == 0:
            side, batch = int(size), 1
        else:
            raise ValueError(f"original case {item!r}: expected {kind}:SIZE with SIZE a "
                             "multiple of 8, >= 32 (such as generator:256)")
        found.append(OriginalCase(kind, side, batch))
    if not found:
        raise ValueError("no original cases given")
    return found


@dataclasses.dataclass(frozen=True)
class BenchSettings:
    """What ``gi-bench`` was asked to do.

    Attributes:
        quick: bool, tiny sizes (a smoke test of every code path, seconds per section).
        repeats: int >= 1, timed calls per case after the first (warm-up) call.
        max_seconds: float, a case stops repeating once its timed calls took this long
            (at least one timed call always runs).
        chunk_elements: int, the chunked attention's score entries per chunk (default:
            the inference default).
        checkpoint: optional checkpoint path; the generator sections then use trained
            weights (random initial weights otherwise: the speed is the same, output
            differences in the precision section are less representative).
        seed: int, seeds inputs and weight initialisation.
        training_cases: str, the training section's cases as ``SIZExBATCH`` items,
            comma-separated (``"256x4"``); empty = the section's default list.
        large_cases: str, the large section's case names, comma-separated; empty = all.
        generator_cases: str, the generator section's cases as ``SIZExBATCH`` items (image
            side x batch), comma-separated; empty = its default list.
        original, neuralgym: checkouts of the authors' code (as gi-parity's flags); the
            original section runs only with them.
        original_cases: str, the original section's cases (``KIND:SIZE``,
            ``training:SIZExBATCH``), comma-separated; empty = its default list.
    """

    quick: bool = option(False, "Tiny sizes (smoke test of every code path).")
    repeats: int = option(3, "Timed calls per case after the first (warm-up) call.")
    max_seconds: float = option(60.0, "Stop repeating a case once its timed calls took this "
                                "long.")
    chunk_elements: int = option(DEFAULT_CHUNK_ELEMENTS, "Chunked attention's score entries "
                                 "per chunk (memory, saved_model); default: the inference "
                                 "default.")
    checkpoint: str | None = option(None, "Optional gi_tf checkpoint: use its trained "
                                    "generator weights.")
    seed: int = option(0, "Seed of the inputs and of random weights.")
    training_cases: str = option("", "Training section cases, SIZExBATCH comma-separated "
                                 "(e.g. 256x4); default: its full list.")
    large_cases: str = option("", "Large-photo section cases by name, comma-separated (e.g. "
                              "sm_unit,sm_hd_hole); default: all of them.")
    generator_cases: str = option("", "Generator section cases, SIZExBATCH comma-separated "
                                  "(e.g. 256x1); default: its full list.")
    original: str | None = option(None, "Original section: checkout of "
                                  "JiahuiYu/generative_inpainting at tag v1.0.0 (as gi-parity).")
    neuralgym: str | None = option(None, "Original section: checkout of JiahuiYu/neuralgym.")
    original_cases: str = option("", "Original section cases: generator:SIZE, inpaint:SIZE, "
                                 "training:SIZExBATCH, comma-separated; default: "
                                 "generator/inpaint at 256, 512, 1024 and training 256x4, "
                                 "256x16.")

    def validate(self):
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {self.repeats}")
        if self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")
        if self.chunk_elements < 1:
            raise ValueError(f"chunk_elements must be >= 1, got {self.chunk_elements}")
        parse_cases(self.training_cases)
        parse_cases(self.generator_cases, "generator")
        if self.original_cases:
            parse_original_cases(self.original_cases)
        if bool(self.original) != bool(self.neuralgym):
            raise ValueError("the original section needs both --original and --neuralgym "
                             "(checkouts of the authors' two repositories)")
        return self


@dataclasses.dataclass
class Section:
    """One section's results: a table (``columns`` x ``rows``) and free-text notes.

    ``rows`` are dicts keyed by column name; a value may be None (not measured) and a
    row may carry an ``"error"`` string instead of figures.
    """

    name: str
    title: str
    columns: list
    rows: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)


def time_interleaved(fns, repeats, max_seconds):
    """Time several alternatives in rounds (A, B, C, A, B, C, ...) after one warm-up each.

    Interleaving exposes every alternative to the same machine load, so their ratios
    hold on a shared machine where load changes over minutes. Each ``fn`` must block
    until its result is ready.

    Args:
        fns: ``{name: fn}``.
        repeats: int, rounds after the warm-up calls.
        max_seconds: float, no new round starts once the rounds took this long.

    Returns:
        ``{name: dict}`` with ``first_s`` (warm-up call: tracing / compilation),
        ``median_s`` (wall), ``cpu_s`` (median process CPU seconds per call, which
        depends little on load) and ``calls``.
    """
    results = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        fn()
        results[name] = {"first_s": time.perf_counter() - start, "wall": [], "cpu": []}
    budget_start = time.perf_counter()
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu, wall = time.process_time(), time.perf_counter()
            fn()
            results[name]["wall"].append(time.perf_counter() - wall)
            results[name]["cpu"].append(time.process_time() - cpu)
        if time.perf_counter() - budget_start > max_seconds:
            break
    return {name: {"first_s": r["first_s"], "median_s": statistics.median(r["wall"]),
                   "cpu_s": statistics.median(r["cpu"]), "calls": len(r["wall"])}
            for name, r in results.items()}


def time_call(fn, repeats, max_seconds):
    """Time ``fn()``: the first call alone, then up to ``repeats`` more.

    ``fn`` must block until its result is ready (convert outputs to NumPy inside it).

    Returns:
        dict with ``first_s`` (first call, includes tracing/compilation), ``median_s``,
        ``min_s`` (of the later calls) and ``calls`` (how many were timed).
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    budget_start = time.perf_counter()
    while len(times) < repeats:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() - budget_start > max_seconds:
            break
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times),
            "calls": len(times)}


def fraction_of_yardstick(flops, seconds, context):
    """Achieved GFLOP/s and its fraction of the run's matmul GFLOP/s (None if unknown)."""
    if not flops or not seconds:
        return None, None
    gflops = flops / seconds / 1e9
    yardstick = context.get("matmul_gflops")
    return gflops, (gflops / yardstick if yardstick else None)


def latency_fields(timing, batch, flops, context):
    """Table fields of one timed call: first/median ms, ms per image, GFLOP/s, share of matmul."""
    gflops, fraction = fraction_of_yardstick(flops, timing["median_s"], context)
    return {"first_ms": 1000 * timing["first_s"],
            "median_ms": 1000 * timing["median_s"],
            "ms_per_image": 1000 * timing["median_s"] / batch,
            "gflops": gflops, "of_matmul": fraction, "calls": timing["calls"]}


def smooth_test_image(batch, height, width, seed=0):
    """Float ``[batch, H, W, 3]`` RGB in [-1, 1]: smooth sinusoid mixtures (photo-like)."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    images = np.zeros((batch, height, width, 3), "float32")
    for n in range(batch):
        for c in range(3):
            for _ in range(4):
                fy, fx, phase = rng.uniform(0.5, 6.0), rng.uniform(0.5, 6.0), rng.uniform(0, 6.3)
                images[n, :, :, c] += np.sin(2 * np.pi * (fy * y + fx * x) + phase) / 4.0
    return np.clip(images, -1.0, 1.0)


def centre_holes(batch, height, width):
    """Float ``[batch, H, W, 1]``, 1 = hole: a centred box of half the height and width."""
    holes = np.zeros((batch, height, width, 1), "float32")
    holes[:, height // 4:height // 4 + height // 2, width // 4:width // 4 + width // 2] = 1.0
    return holes


def format_value(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def format_table(section):
    """The section as an aligned plain-text table (errors and notes below it)."""
    columns = section.columns
    body = [[format_value(row.get(c)) for c in columns] for row in section.rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]
    lines = [f"== {section.title} ==",
             "  ".join(c.rjust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    for row, cells in zip(section.rows, body):
        line = "  ".join(cell.rjust(w) for cell, w in zip(cells, widths))
        if row.get("error"):
            line += f"  ! {row['error']}"
        lines.append(line)
    lines += [f"  note: {note}" for note in section.notes]
    return "\n".join(lines)


def error_text(exc):
    """One line naming an exception (for a row that could not be measured)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
