"""Inpaint a whole dataset on Apache Beam: the exported SavedModel under RunInference.

The library side of ``gi-inpaint-beam``, the only module of gi_tf that imports Apache Beam
(``pip install 'gi_tf[beam]'``). Stages: match the ``--images`` / ``--masks`` globs on any
Beam filesystem; pair image and mask by relative folder and stem (or one mask, or
``--box``); read and check as ``gi-inpaint`` does; ``RunInference`` with
:class:`InpaintModelHandler` (the export loaded once per worker process, batches bounded in
images and pixels by :class:`BatchWeight`); write atomically through
:mod:`gi_tf.utils.files`. A bad input becomes a ``failed: <reason>`` record, never a failed
pipeline; every matched image ends as one record in ``<output_dir>/manifest.jsonl``
(:data:`MANIFEST_FILE`). Usage: docs/beam.md.
"""

import dataclasses
import json
import os
import time

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import StandardOptions

from gi_tf.inference import file_jobs
from gi_tf.inference import mask_sources
from gi_tf.inference.inpainter import Inpainter
from gi_tf.inference.inpainter import resolve_saved_model
from gi_tf.utils import files
from gi_tf.utils import image_io

MANIFEST_FILE = "manifest.jsonl"
GLOB_CHARACTERS = "*?["
DEFAULT_MAX_BATCH_SIZE = 16
# A batch's bound in pixels: 16 images of 512 x 512; a larger photo runs alone.
DEFAULT_MAX_BATCH_PIXELS = 16 * 512 * 512
WRITTEN = "written"
SKIPPED = "skipped"
FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class BeamConfig:
    """What ``gi-inpaint-beam`` does (the CLI builds it from its flags).

    Attributes:
        model: exported SavedModel (version directory or export base), readable by every
            worker (``gs://`` on Dataflow).
        images: glob of the input images (``in/**/*.jpg``, ``gs://bucket/in/*.png``).
        output_dir: where results go, keeping each input's relative folder, and the manifest.
        masks: glob of the masks (paired by relative folder and stem), or one mask file for
            every image; None with ``box``.
        box: ``TOP,LEFT,HEIGHT,WIDTH`` strings: the same holes in every image
            (:func:`gi_tf.inference.mask_sources.box_mask`).
        skip_existing: an input whose output (and panel) exists is ``skipped``.
        max_pixels: refuse images and masks with more pixels (from the header, before
            decoding); None = no limit.
        panel: also write ``<output stem>_panel.png`` (input | masked | result | attention).
        max_batch_size: most images per model call batch.
        max_batch_pixels: most pixels per batch (an image above it goes alone).
    """

    model: str
    images: str
    output_dir: str
    masks: str = None
    box: tuple = ()
    skip_existing: bool = False
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS
    panel: bool = False
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_batch_pixels: int = DEFAULT_MAX_BATCH_PIXELS

    def __post_init__(self):
        if bool(self.masks) == bool(self.box):
            raise ValueError("give the holes one way: masks (a glob or one file) or box")
        if self.box:
            object.__setattr__(self, "box", tuple(self.box))
            mask_sources.box_mask(self.box)  # a malformed box is refused here
        for name in ("images", "output_dir", "masks"):
            if getattr(self, name):
                object.__setattr__(self, name, files.abspath(getattr(self, name)))
        if self.max_batch_size < 1 or self.max_batch_pixels < 1:
            raise ValueError("max_batch_size and max_batch_pixels must be positive")

    def options(self):
        """The :class:`gi_tf.inference.file_jobs.InpaintOptions` of every image (gi-inpaint's
        defaults: policy pad, window auto)."""
        return file_jobs.InpaintOptions(panel=self.panel, max_pixels=self.max_pixels,
                                        skip_existing=self.skip_existing)

    @property
    def manifest_path(self):
        return files.join(self.output_dir, MANIFEST_FILE)


# -- paths --------------------------------------------------------------------------------------


def has_glob(pattern):
    return any(c in pattern for c in GLOB_CHARACTERS)


def glob_base(pattern):
    """The fixed folder prefix of a glob, ending in ``/`` (``in/**/*.png`` -> ``in/``); for a
    path without wildcards, its folder."""
    cut = min((pattern.find(c) for c in GLOB_CHARACTERS if c in pattern), default=len(pattern))
    return pattern[:pattern.rfind("/", 0, cut) + 1]


def relative_key(path, base):
    """``(relative folder and stem, extension)`` of ``path`` below ``base``: the pairing key
    (``/`` separated, whatever the filesystem)."""
    relative = path[len(base):] if path.startswith(base) else os.path.basename(path)
    stem, ext = os.path.splitext(relative.replace(os.sep, "/"))
    return stem, ext.lower()


def output_path(output_dir, key):
    return files.join(output_dir, *key.split("/")) + ".png"


def is_image_path(path):
    return os.path.splitext(path)[1].lower() in file_jobs.IMAGE_EXTENSIONS


def read_file(path):
    """All bytes of ``path`` through Beam's filesystems (local, gs://, s3://, ...)."""
    with FileSystems.open(path) as handle:
        return handle.read()


# -- records ------------------------------------------------------------------------------------


def record(job, status, image=None, holes=None, path=None, ms=None, notes=()):
    """One manifest line: input, mask, output, status, size, hole fraction, path taken, ms."""
    mask = job.mask if isinstance(job.mask, str) or job.mask is None else "box"
    height, width = (None, None) if image is None else image.shape[:2]
    return {
        "input": job.image,
        "mask": mask,
        "output": job.output,
        "status": status,
        "width": width,
        "height": height,
        "hole_fraction": None if holes is None else round(float(holes.mean()), 6),
        "path": path,
        "ms": None if ms is None else round(ms, 1),
        "notes": list(notes),
    }


def failed(reason):
    return f"{FAILED}: {reason}"


def _reason(err):
    if isinstance(err, tf.errors.OpError):
        return f"{type(err).__name__}: {err.message.strip().splitlines()[0]}"
    return str(err).strip() or type(err).__name__


@dataclasses.dataclass
class Example:
    """One checked input on its way through the model (``loaded``: file_jobs.Loaded)."""

    job: file_jobs.Job
    loaded: file_jobs.Loaded
    start: float

    @property
    def pixels(self):
        return int(self.loaded.holes.size)


@dataclasses.dataclass
class Outcome:
    """The model's answer for an :class:`Example`: arrays, or ``error`` (a reason)."""

    example: Example
    result: np.ndarray = None
    attention: np.ndarray = None
    path: str = None
    ms: float = None
    error: str = None


# -- stages -------------------------------------------------------------------------------------


class PairInputs(beam.DoFn):
    """``(key, {"image": [paths], "mask": [paths]})`` -> a Job, or a failed record.

    Without a masks glob every image gets the one mask file, or the ``box`` holes.
    """

    def __init__(self, config):
        self.config = config

    def _masks(self, grouped):
        if self.config.box:
            return [mask_sources.box_mask(self.config.box)]
        if not has_glob(self.config.masks):
            return [self.config.masks]
        return sorted(grouped.get("mask", ()))

    def process(self, element):
        key, grouped = element
        images, masks = sorted(grouped["image"]), self._masks(grouped)
        output = output_path(self.config.output_dir, key)
        for image in images:
            job = file_jobs.Job(image, masks[0] if len(masks) == 1 else None, output)
            if len(images) > 1:
                yield beam.pvalue.TaggedOutput("records", record(job, failed(
                    f"{len(images)} inputs would write the same output: "
                    + ", ".join(images))))
            elif not masks:
                yield beam.pvalue.TaggedOutput("records", record(job, failed(
                    f"no mask matched (same relative folder and stem) in {self.config.masks}")))
            elif len(masks) > 1:
                yield beam.pvalue.TaggedOutput("records", record(job, failed(
                    "several masks match: " + ", ".join(masks))))
            else:
                yield job


class ReadInputs(beam.DoFn):
    """Job -> :class:`Example` (checked as gi-inpaint checks); an existing output or a bad
    input becomes a record; an image without a hole is the input unchanged."""

    def __init__(self, config):
        self.config = config
        self._shared_mask = None

    def _holes(self, job, image, options):
        if isinstance(job.mask, mask_sources.BoxMask):
            return job.mask.holes(image), []
        if job.mask == self.config.masks and not has_glob(self.config.masks):
            if self._shared_mask is None:  # one mask file for every image: read once
                self._shared_mask = image_io.mask_from_bytes(
                    read_file(job.mask), job.mask, return_notes=True,
                    max_pixels=options.max_pixels)
            return self._shared_mask
        return image_io.mask_from_bytes(read_file(job.mask), job.mask, return_notes=True,
                                        max_pixels=options.max_pixels)

    def process(self, job):
        start = time.perf_counter()
        options = self.config.options()
        if options.skip_existing and file_jobs.outputs_exist(job, options):
            yield beam.pvalue.TaggedOutput("records", record(job, SKIPPED))
            return
        image = holes = None
        try:
            file_jobs.check_writable(job.output)
            if options.panel:
                file_jobs.check_writable(file_jobs.panel_path(job.output))
            image, image_notes = image_io.image_from_bytes(
                read_file(job.image), job.image, return_notes=True,
                max_pixels=options.max_pixels)
            holes, mask_notes = self._holes(job, image, options)
            loaded = file_jobs.check_pair(job, image, image_notes, holes, mask_notes)
        except Exception as err:  # every bad input is a record, never a failed pipeline
            yield beam.pvalue.TaggedOutput("records", record(
                job, failed(_reason(err)), image,
                holes if holes is not None and image is not None
                and holes.shape == image.shape[:2] else None))
            return
        example = Example(job, loaded, start)
        if not loaded.holes.any():  # gi-inpaint's rule: the input unchanged, no network
            result, attention = file_jobs.inpaint_loaded(None, loaded, options)
            yield beam.pvalue.TaggedOutput("unchanged", Outcome(example, result, attention,
                                                                path="none"))
            return
        yield example


class BatchWeight:
    """``BatchElements``' weight of an :class:`Example`: its pixels, at least
    ``max_batch_pixels / max_batch_size`` (so a batch holds at most ``max_batch_size``)."""

    def __init__(self, max_batch_size, max_batch_pixels):
        self.unit = max(1, max_batch_pixels // max_batch_size)

    def __call__(self, example):
        return max(example.pixels, self.unit)


class InpaintModelHandler(ModelHandler):
    """RunInference over a gi_tf export: :class:`Example` in, :class:`Outcome` out.

    ``load_model`` is :meth:`gi_tf.Inpainter.load` (once per worker process; RunInference
    shares it between the process's threads). ``run_inference`` groups a batch by image
    size and calls :meth:`gi_tf.Inpainter.inpaint` once per size; a call that fails is
    retried image by image, so one bad request (e.g. above the export's request bound)
    fails only itself. The path each image takes comes from the export's ``plan``.
    """

    def __init__(self, model, max_pixels=image_io.DEFAULT_MAX_PIXELS, panel=False,
                 max_batch_size=DEFAULT_MAX_BATCH_SIZE, max_batch_pixels=DEFAULT_MAX_BATCH_PIXELS):
        # Beam 2.77's BatchElements bounds the sum of element_size_fn (no max_batch_weight):
        # a fixed target of max_batch_pixels; an image that would pass it starts a new batch.
        super().__init__(min_batch_size=max_batch_pixels, max_batch_size=max_batch_pixels,
                         element_size_fn=BatchWeight(max_batch_size, max_batch_pixels))
        self.model = model
        self.max_pixels = max_pixels
        self.panel = panel

    def load_model(self):
        return Inpainter.load(self.model, max_pixels=self.max_pixels)

    def run_inference(self, batch, model, inference_args=None):
        by_size = {}
        for example in batch:
            by_size.setdefault(example.loaded.image.shape, []).append(example)
        outcomes = {}
        for group in by_size.values():
            try:
                done = self._inpaint(model, group)
            except Exception as err:  # isolate the bad one(s)
                if len(group) == 1:
                    done = [Outcome(group[0], error=_reason(err))]
                else:
                    done = [self._one(model, example) for example in group]
            for example, outcome in zip(group, done):
                outcomes[id(example)] = outcome
        return [outcomes[id(example)] for example in batch]

    def _inpaint(self, model, group):
        start = time.perf_counter()
        paths = []
        for example in group:
            plan = model.plan(example.loaded.image.shape, example.loaded.holes)
            paths.append("windowed" if plan["windowed"] else "whole")
        images = np.stack([e.loaded.image for e in group])
        holes = np.stack([e.loaded.holes for e in group])
        if self.panel:
            results, attentions = model.inpaint(images, holes, return_attention=True)
        else:
            results, attentions = model.inpaint(images, holes), [None] * len(group)
        ms = (time.perf_counter() - start) * 1000 / len(group)
        return [Outcome(e, r, a, p, ms) for e, r, a, p in zip(group, results, attentions, paths)]

    def _one(self, model, example):
        try:
            return self._inpaint(model, [example])[0]
        except Exception as err:
            return Outcome(example, error=_reason(err))

    def get_metrics_namespace(self):
        return "gi_tf_inpaint"


class WriteOutputs(beam.DoFn):
    """:class:`Outcome` -> files written atomically (output, panel) -> its record."""

    def __init__(self, config):
        self.config = config

    def process(self, outcome):
        example = outcome.example
        job, loaded = example.job, example.loaded
        if outcome.error is not None:
            yield record(job, failed(outcome.error), loaded.image, loaded.holes, outcome.path)
            return
        options = self.config.options()
        try:
            attention = outcome.attention
            if options.panel and attention is None:
                attention = np.full(loaded.image.shape, 255, np.uint8)
            file_jobs.write_outputs(job, loaded, outcome.result, attention, options)
        except Exception as err:
            yield record(job, failed(_reason(err)), loaded.image, loaded.holes, outcome.path)
            return
        yield record(job, WRITTEN, loaded.image, loaded.holes, outcome.path,
                     (time.perf_counter() - example.start) * 1000, loaded.notes)


# -- composite transforms -------------------------------------------------------------------------


class MatchInputs(beam.PTransform):
    """Pipeline -> ``(key, path)`` of every image file matching ``pattern`` (key: relative
    folder and stem)."""

    def __init__(self, pattern):
        super().__init__()
        self.pattern = pattern

    def expand(self, pbegin):
        base = glob_base(self.pattern)
        return (pbegin
                | "Match" >> fileio.MatchFiles(self.pattern)
                | "Paths" >> beam.Map(lambda metadata: metadata.path)
                | "Images" >> beam.Filter(is_image_path)
                | "Key" >> beam.Map(lambda path: (relative_key(path, base)[0], path)))


class MakeJobs(beam.PTransform):
    """Pipeline -> Jobs (main) and failed records (``records``): matching and pairing."""

    def __init__(self, config):
        super().__init__()
        self.config = config

    def expand(self, pbegin):
        config = self.config
        inputs = {"image": pbegin | "MatchImages" >> MatchInputs(config.images)}
        if config.masks and has_glob(config.masks):
            inputs["mask"] = pbegin | "MatchMasks" >> MatchInputs(config.masks)
        # Grouped by key also without masks: two inputs for one output are found here.
        return (inputs
                | "GroupByKey" >> beam.CoGroupByKey()
                | "WithImage" >> beam.Filter(lambda kv: len(kv[1]["image"]) > 0)
                | "Pair" >> beam.ParDo(PairInputs(config)).with_outputs("records", main="jobs"))


class InpaintDataset(beam.PTransform):
    """Pipeline -> one manifest record (dict) per matched image; writes the outputs.

    The stages of the module doc; the records are not written here (:class:`WriteManifest`).
    """

    def __init__(self, config):
        super().__init__()
        self.config = config

    def expand(self, pbegin):
        config = self.config
        jobs = pbegin | "Jobs" >> MakeJobs(config)
        read = jobs.jobs | "Read" >> beam.ParDo(ReadInputs(config)).with_outputs(
            "records", "unchanged", main="examples")
        handler = InpaintModelHandler(config.model, config.max_pixels, config.panel,
                                      config.max_batch_size, config.max_batch_pixels)
        inferred = read.examples | "Inpaint" >> RunInference(handler)
        outcomes = (inferred, read.unchanged) | "AllOutcomes" >> beam.Flatten()
        written = outcomes | "Write" >> beam.ParDo(WriteOutputs(config))
        return ((jobs.records, read.records, written)
                | "AllRecords" >> beam.Flatten())


def manifest_text(records):
    """JSON Lines of ``records``, sorted by input then output (one line each)."""
    ordered = sorted(records, key=lambda r: (r["input"], r["output"]))
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in ordered)


class WriteManifest(beam.PTransform):
    """Records -> ``<output_dir>/manifest.jsonl``, written once, atomically (one worker
    gathers the records: a few hundred bytes per image)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def expand(self, records):
        path = self.path
        return (records
                | "Gather" >> beam.combiners.ToList()
                | "WriteManifest" >> beam.Map(
                    lambda rs: files.write_text(path, manifest_text(rs))))


# -- running --------------------------------------------------------------------------------------


def local_runner(options):
    """The DirectRunner's in-process engine (FnApiRunner), chosen without its first try of
    the Prism runner (which Beam downloads from the internet)."""
    # lazy: Beam's internal runner modules, only for a local run
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner  # optional: [beam] extra
    from apache_beam.runners.portability.portable_runner import JobServiceHandle  # optional: beam

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return fn_runner.FnApiRunner(provision_info=provision)


def pipeline_options(beam_args=()):
    """``PipelineOptions`` of the arguments after ``--`` (``--runner=DataflowRunner ...``)."""
    return PipelineOptions(list(beam_args))


def make_pipeline(options):
    """A pipeline on ``--runner`` (none, or DirectRunner: :func:`local_runner`)."""
    runner = options.view_as(StandardOptions).runner
    if runner is None or runner in ("DirectRunner", "SwitchingDirectRunner"):
        return beam.Pipeline(runner=local_runner(options), options=options)
    return beam.Pipeline(options=options)


def build(pipeline, config):
    """Add the whole job to ``pipeline``; returns the records PCollection."""
    records = pipeline | "InpaintDataset" >> InpaintDataset(config)
    _ = records | "Manifest" >> WriteManifest(config.manifest_path)
    return records


def run(config, beam_args=()):
    """Run the job to the end; returns the manifest's records (list of dicts).

    The model is resolved here (an export base -> its highest version), so every worker
    loads the same version.

    Raises:
        FileNotFoundError: no image matches ``config.images``, or the model is missing.
    """
    config = dataclasses.replace(config, model=resolve_saved_model(config.model))
    if not FileSystems.match([config.images])[0].metadata_list:
        raise FileNotFoundError(f"no file matches --images={config.images}")
    if config.masks and not has_glob(config.masks) and not FileSystems.exists(config.masks):
        raise FileNotFoundError(f"mask file not found: {config.masks}")
    options = pipeline_options(beam_args)
    pipeline = make_pipeline(options)
    build(pipeline, config)
    result = pipeline.run()
    result.wait_until_finish()
    return read_manifest(config.manifest_path)


def read_manifest(path):
    """The records of a manifest file."""
    return [json.loads(line) for line in files.read_text(path).splitlines() if line.strip()]
