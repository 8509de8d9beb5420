"""Runs benchmark sections in order and collects a JSON-ready report."""

import dataclasses
import datetime
import importlib
import os
import platform
import sys
import time

import keras
import tensorflow as tf

from gi_tf.benchmarks import SECTION_ORDER
from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import format_table
from gi_tf.benchmarks.yardstick import cpu_model


def parse_sections(text):
    """``"a,b"`` -> ordered section names (yardstick first); ValueError on unknown names."""
    names = [n.strip() for n in text.split(",") if n.strip()] if text else []
    if not names or names == ["all"]:
        return list(SECTION_ORDER)
    unknown = sorted(set(names) - set(SECTION_ORDER))
    if unknown:
        raise ValueError(f"unknown benchmark sections {unknown}; known: {list(SECTION_ORDER)}")
    return [n for n in SECTION_ORDER if n in names or n == "yardstick"]


def machine_info():
    """Host, CPU count, TensorFlow/Keras versions and devices (what the figures belong to)."""
    return {
        "platform": platform.platform(),
        "processor": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }




def run_sections(names, settings, printer=print):
    """Runs ``names`` (see :func:`parse_sections`); prints each table as it finishes.

    Returns:
        dict ``{"date", "settings", "machine", "sections": {name: Section.to_dict()},
        "seconds": {name: wall seconds}}``.
    """
    settings.validate()
    context, sections, seconds = {}, {}, {}
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": dataclasses.asdict(settings),
        "machine": machine_info(),
        "sections": sections,
        "seconds": seconds,
    }
    for name in names:
        module = importlib.import_module(f"gi_tf.benchmarks.{name}")
        start = time.perf_counter()
        try:
            section = module.run(settings, context)
        except Exception as exc:  # one broken section must not lose the others
            section = Section(name, module.TITLE, ["error"], [{"error": error_text(exc)}])
        seconds[name] = time.perf_counter() - start
        sections[name] = section.to_dict()
        printer(format_table(section) + f"\n  ({seconds[name]:.0f} s)\n")
    return report
