"""Differences, table rows, and the small summaries kept as test fixtures (NumPy only).

Measures (the table's columns):

* **max abs diff**: ``max |ours - theirs|`` over every element compared.
* **max rel diff**: ``max |ours - theirs| / max |theirs|``, per tensor (relative to the
  tensor's scale, so elements near zero do not blow it up), the largest over the tensors
  of a row; ``0/0 = 0`` (e.g. the critics' output biases get an exactly zero critic-loss
  gradient on both sides).
* counts (offsets): grid cells whose offset differs.

A large tensor is kept in a fixture as its :func:`summary`: the L2 norm and ``k`` seeded
random projections ``p_i = <r_i, x> / sqrt(n)`` (``r_i`` standard normal, seeded by the
tensor's name). For a difference ``d``, ``|Δp_i|`` is about ``||d|| / sqrt(n)``, so
:func:`summary_error` ``= max(|Δnorm|, max_i |Δp_i| * sqrt(n)) / ||x||`` estimates the
relative L2 error ``||d|| / ||x||``.
"""

import dataclasses

import numpy as np

from gi_tf.parity.weights import name_seed

PROJECTIONS = 4


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table.

    ``measure`` is what ``tolerance`` bounds: ``"abs"`` (max abs diff), ``"rel"`` (max rel
    diff) or ``"count"`` (cells that differ, in ``max_abs``). ``tolerance=None`` marks an
    informational row (a noise floor), which never fails.
    """

    what: str
    max_abs: float
    max_rel: float
    tolerance: float | None
    measure: str = "rel"

    @property
    def value(self):
        return self.max_rel if self.measure == "rel" else self.max_abs

    @property
    def passed(self):
        return self.tolerance is None or bool(self.value <= self.tolerance)

    def to_dict(self):
        return {**dataclasses.asdict(self), "passed": self.passed}


def _as64(x):
    return np.asarray(x, np.float64)


def max_abs(ours, theirs):
    return float(np.max(np.abs(_as64(ours) - _as64(theirs)))) if np.size(theirs) else 0.0


def max_rel(ours, theirs):
    """``max|ours - theirs| / max|theirs|`` (0 when both are 0, inf when only theirs is)."""
    diff = max_abs(ours, theirs)
    scale = float(np.max(np.abs(_as64(theirs)))) if np.size(theirs) else 0.0
    if scale == 0.0:
        return 0.0 if diff == 0.0 else float("inf")
    return diff / scale


def tensor_row(what, ours, theirs, tolerance, measure="rel"):
    """A row over one tensor or over dicts of tensors with the same keys."""
    if isinstance(theirs, dict):
        missing = sorted(set(theirs) ^ set(ours))
        if missing:
            raise ValueError(f"{what}: tensors on one side only: {missing[:5]}")
        abs_diffs = [max_abs(ours[k], theirs[k]) for k in theirs]
        rel_diffs = [max_rel(ours[k], theirs[k]) for k in theirs]
        return Row(what, max(abs_diffs), max(rel_diffs), tolerance, measure)
    return Row(what, max_abs(ours, theirs), max_rel(ours, theirs), tolerance, measure)


def offsets_row(what, ours, theirs, tolerance=0):
    """Offsets ``[..., 2]``: cells that differ (``max_abs`` column) and their share."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise ValueError(f"{what}: offsets of shape {ours.shape} vs {theirs.shape}")
    cells = np.any(ours != theirs, axis=-1)
    return Row(what, float(cells.sum()), float(cells.mean()) if cells.size else 0.0,
               tolerance, "count")


# -- summaries (fixtures) ----------------------------------------------------------------------


def projection_vectors(name, size, k=PROJECTIONS, seed=0):
    """float32 ``[k, size]`` standard normal, seeded by ``name``."""
    rng = np.random.default_rng(name_seed(seed, "projection/" + name))
    return rng.standard_normal((k, size), dtype=np.float32)


def summary(name, x, k=PROJECTIONS):
    """``{"norm", "projections", "size"}`` of tensor ``x`` (float64 arithmetic)."""
    flat = _as64(x).ravel()
    vectors = projection_vectors(name, flat.size, k)
    projections = (vectors.astype(np.float64) @ flat) / np.sqrt(max(flat.size, 1))
    return {"norm": float(np.linalg.norm(flat)), "projections": [float(p) for p in projections],
            "size": int(flat.size)}


def summary_error(ours, reference):
    """Estimated relative L2 error between two :func:`summary` dicts (see the docstring)."""
    if ours["size"] != reference["size"]:
        return float("inf")
    scale = reference["norm"]
    delta_p = max(abs(a - b) for a, b in zip(ours["projections"], reference["projections"]))
    error = max(abs(ours["norm"] - scale), delta_p * np.sqrt(reference["size"]))
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return float(error / scale)


def encode_array(x):
    """``{"shape", "dtype", "values"}`` with the values as one space-separated string.

    Integers as integers, floats with ``repr`` (exact round trip of float64): compact and
    readable in a diff, unlike a JSON list with one number per line.
    """
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        values, dtype = " ".join(str(int(v)) for v in x.ravel()), "int64"
    else:
        values, dtype = " ".join(repr(float(v)) for v in x.ravel()), "float64"
    return {"shape": list(x.shape), "dtype": dtype, "values": values}


def decode_array(encoded):
    """Inverse of :func:`encode_array`."""
    values = encoded["values"].split()
    return np.array(values, dtype=encoded["dtype"]).reshape(encoded["shape"])


def crop_around(x, mask, size=8):
    """``x[..., top:top + size, left:left + size, :]`` centred on the mask's bounding box."""
    rows = np.nonzero(np.any(np.asarray(mask)[0, :, :, 0] > 0.5, axis=1))[0]
    cols = np.nonzero(np.any(np.asarray(mask)[0, :, :, 0] > 0.5, axis=0))[0]
    h, w = np.shape(x)[-3], np.shape(x)[-2]
    centre_r = (rows[0] + rows[-1]) // 2 if rows.size else h // 2
    centre_c = (cols[0] + cols[-1]) // 2 if cols.size else w // 2
    top = int(np.clip(centre_r - size // 2, 0, max(h - size, 0)))
    left = int(np.clip(centre_c - size // 2, 0, max(w - size, 0)))
    return np.asarray(x)[..., top:top + size, left:left + size, :]


# -- the table -----------------------------------------------------------------------------------


def _number(value):
    if value != value:  # NaN: not measured (fixture rows compare summaries only)
        return "-"
    if value == 0:
        return "0"
    if value == float("inf"):
        return "inf"
    return f"{value:.2e}"


def _tolerance(row):
    if row.tolerance is None:
        return "(noise floor)"
    unit = {"abs": "abs", "rel": "rel", "count": "cells"}[row.measure]
    limit = str(int(row.tolerance)) if row.measure == "count" else _number(row.tolerance)
    return f"{unit} <= {limit}"


def format_table(rows):
    """A Markdown table: what | max abs diff | max rel diff | tolerance | pass."""
    lines = ["| what | max abs diff | max rel diff | tolerance | pass |",
             "|---|---:|---:|---|---|"]
    for row in rows:
        if row.measure == "count":
            absolute, relative = f"{int(row.max_abs)} cells", f"{row.max_rel:.1%}"
        else:
            absolute, relative = _number(row.max_abs), _number(row.max_rel)
        verdict = "-" if row.tolerance is None else ("yes" if row.passed else "**NO**")
        lines.append(f"| {row.what} | {absolute} | {relative} | {_tolerance(row)} | {verdict} |")
    return "\n".join(lines)


def all_passed(rows):
    return all(row.passed for row in rows)
