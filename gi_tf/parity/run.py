"""The three comparisons of gi-parity, their tolerances, and the fixtures they leave.

Each section runs the authors' graph (:mod:`gi_tf.parity.original`) and gi_tf
(:mod:`gi_tf.parity.ours`) on the same weights and inputs (:mod:`gi_tf.parity.cases`)
and returns table rows plus a fixture: the authors' numbers only (summaries, small crops,
offsets, losses). :func:`fixture_rows` compares gi_tf against a fixture without the
authors' code (what the test suite does).

Tolerances (:data:`TOLERANCES`) are bounds on float32 ordering noise, set a few to ten
times above the largest noise floors the tool measured (seeds 0 and 1; rows marked
"noise floor": gi_tf against gi_tf with the batch reversed or with its other attention
implementation, and the authors' graph against itself with the batch reversed, i.e. the
same mathematics summed in another order). Exact quantities (offsets, hole pixels)
must agree exactly or within one uint8 level.
"""

import os
import tempfile

import numpy as np

from gi_tf.parity import cases as cases_lib
from gi_tf.parity import compare
from gi_tf.parity import original as original_lib
from gi_tf.parity import ours
from gi_tf.parity import weights as weights_lib
from gi_tf.parity.original import TRAINING_LOSSES
from gi_tf.utils.image_io import holes_from_mask

SECTIONS = ("attention", "generator", "training")
FIXTURE_VERSION = 1

TOLERANCES = {
    # Attention output, relative to the largest |y|: sums of 9*C products per score and
    # of up to L softmax-weighted patches per output, in another order (batched matmul vs
    # per-sample conv2d / conv2d_transpose).
    "attention": 1e-5,
    # Generator outputs in [-1, 1] (abs): 42 convolutions and the attention.
    "generator": 1e-5,
    # Offsets are argmaxes: equal unless two scores tie within float32 noise (none did).
    "offsets": 0,
    # uint8 levels: truncation of (x + 1) * 127.5 can flip a level on 1e-6 noise; known
    # pixels: gi_tf copies them exactly, the original loses one level on 1..63.
    "uint8": 1,
    # Loss terms, relative.
    "loss": 1e-5,
    # Gradients, per variable relative to its largest |gradient| (max over variables).
    # The critic loss's gradient is a small difference of large terms (the WGAN term and
    # the penalty's double back-propagation): reversing the batch alone moves the global
    # critic's conv2 bias gradient by 5.6e-4 of its size (seed 1, both implementations).
    "gradient": 2e-3,
}
CROP = 8
SERVER_CROP = 16


# -- attention ----------------------------------------------------------------------------------


def attention_theirs(original, case, inputs):
    foreground, background, mask = inputs
    with original_lib.build_attention(original, case.batch, case.height, case.width,
                                      case.channels, rate=case.rate, fuse=case.fuse,
                                      with_mask=case.with_mask) as graph:
        feeds = {"foreground": foreground, "background": background}
        if case.with_mask:
            feeds["mask"] = mask
        return graph.run(["y", "offsets"], **feeds)


def attention_fixture(outputs):
    return {name: {"y": compare.summary(f"attention/{name}/y", out["y"]),
                   "offsets": compare.encode_array(out["offsets"])}
            for name, out in outputs.items()}


def attention_section(original, seed):
    rows, theirs_all, ours_offsets, theirs_offsets, literal_rows = [], {}, [], [], []
    noise_abs = noise_rel = 0.0
    for case in cases_lib.ATTENTION_CASES:
        inputs = cases_lib.attention_inputs(case, seed)
        theirs = attention_theirs(original, case, inputs)
        mine = ours.attention(case, *inputs)
        rows.append(compare.tensor_row(f"attention y: {case.name}", mine["y"], theirs["y"],
                                       TOLERANCES["attention"]))
        ours_offsets.append(mine["offsets"].ravel())
        theirs_offsets.append(theirs["offsets"].ravel())
        literal = ours.attention(case, *inputs, implementation="literal")
        literal_rows.append(compare.tensor_row("", literal["y"], theirs["y"], None))
        noise_abs = max(noise_abs, compare.max_abs(literal["y"], mine["y"]))
        noise_rel = max(noise_rel, compare.max_rel(literal["y"], mine["y"]))
        theirs_all[case.name] = theirs
    cells = [np.concatenate(x).reshape(-1, 2) for x in (ours_offsets, theirs_offsets)]
    rows.append(compare.offsets_row("attention offsets: all cases", *cells,
                                    TOLERANCES["offsets"]))
    rows.append(compare.Row("attention y: gi_tf literal vs batched (all cases)", noise_abs,
                            noise_rel, None))
    rows.append(compare.Row("attention y: gi_tf literal vs authors' (all cases)",
                            max(r.max_abs for r in literal_rows),
                            max(r.max_rel for r in literal_rows), None))
    return rows, attention_fixture(theirs_all)


def attention_fixture_rows(fixture, seed):
    rows = []
    for case in cases_lib.ATTENTION_CASES:
        expected = fixture[case.name]
        mine = ours.attention(case, *cases_lib.attention_inputs(case, seed))
        error = compare.summary_error(
            compare.summary(f"attention/{case.name}/y", mine["y"]), expected["y"])
        rows.append(compare.Row(f"attention y (fixture): {case.name}", float("nan"), error,
                                TOLERANCES["attention"]))
        rows.append(compare.offsets_row(f"attention offsets (fixture): {case.name}",
                                        mine["offsets"], compare.decode_array(expected["offsets"]),
                                        TOLERANCES["offsets"]))
    return rows


# -- generator and test.py --------------------------------------------------------------------


def _generator_fixture(outputs, mask, server, server_mask):
    fixture = {key: compare.summary(f"generator/{key}", outputs[key])
               for key in ("coarse", "refined")}
    fixture["refined_crop"] = compare.encode_array(
        compare.crop_around(outputs["refined"], mask, CROP))
    fixture["offsets"] = compare.encode_array(outputs["offsets"])
    fixture["server_crop"] = compare.encode_array(
        compare.crop_around(server, server_mask, SERVER_CROP))
    return fixture


def _server_mask(mask_image, shape):
    h, w = shape[1], shape[2]
    return holes_from_mask(mask_image[None, :h, :w, :1]).astype(np.float32)


def _uint8_rows(label, mine, theirs, mask):
    hole = np.broadcast_to(mask > 0.5, theirs.shape)
    diff = np.abs(mine.astype(np.int64) - theirs.astype(np.int64))
    rows = []
    for part, where in (("hole pixels", hole), ("known pixels", ~hole)):
        worst = float(diff[where].max()) if where.any() else 0.0
        rows.append(compare.Row(f"{label}: {part} (uint8 levels)", worst, worst / 255.0,
                                TOLERANCES["uint8"], "abs"))
    return rows


def generator_section(original, seed, sizes=cases_lib.Sizes()):
    images, mask = cases_lib.generator_inputs(seed, sizes)
    bgr = (images.astype(np.float32) / 127.5 - 1.0)[..., ::-1]
    with original_lib.build_generator(original, sizes.generator_batch,
                                      sizes.generator_height, sizes.generator_width,
                                      seed=seed) as graph:
        theirs = graph.run(["coarse", "refined", "offsets"], image=bgr, mask=mask)
        names = sorted(n for n in graph.variables if n.startswith("inpaint_net/"))
        arrays = graph.weights(names)
        with tempfile.TemporaryDirectory() as directory:
            prefix = graph.save_checkpoint(os.path.join(directory, "snap-0"), names)
            generator = ours.imported_generator(checkpoint=prefix)
    for key in ("coarse", "refined"):  # their BGR outputs in gi_tf's RGB order
        theirs[key] = theirs[key][..., ::-1]
    mine = ours.generator_outputs(generator, images, mask)
    rows = [compare.tensor_row(f"generator {key} (from the imported checkpoint)",
                               mine[key], theirs[key], TOLERANCES["generator"], "abs")
            for key in ("coarse", "refined")]
    rows.append(compare.offsets_row("generator offsets", mine["offsets"], theirs["offsets"],
                                    TOLERANCES["offsets"]))

    image, mask_image = cases_lib.server_inputs(seed, sizes)
    joined = original_lib.server_input(image[..., ::-1], mask_image)
    with original_lib.build_server(original, joined.shape[1], joined.shape[2] // 2,
                                   weights=arrays) as graph:
        server = graph.run(["result"], input_image=joined)["result"]
    server_mask = _server_mask(mask_image, server.shape)
    rows += _uint8_rows("test.py uint8 result", ours.server_result(generator, image,
                                                                   mask_image),
                        server, server_mask)

    reversed_out = ours.generator_outputs(generator, images[::-1], mask)
    rows.append(compare.tensor_row("generator refined: gi_tf batch reversed vs gi_tf",
                                   reversed_out["refined"][::-1], mine["refined"], None, "abs"))
    literal = ours.imported_generator(arrays=arrays, implementation="literal")
    literal_out = ours.generator_outputs(literal, images, mask)
    rows.append(compare.tensor_row("generator refined: gi_tf literal vs batched attention",
                                   literal_out["refined"], mine["refined"], None, "abs"))
    rows.append(compare.tensor_row("generator refined: gi_tf literal attention vs authors'",
                                   literal_out["refined"], theirs["refined"], None, "abs"))
    return rows, _generator_fixture(theirs, mask, server, server_mask)


def generator_fixture_rows(fixture, seed, sizes=cases_lib.Sizes(), checkpoint=None):
    """gi_tf vs the fixture; weights drawn by name (or read from a TF1 ``checkpoint``)."""
    images, mask = cases_lib.generator_inputs(seed, sizes)
    if checkpoint is None:
        arrays = weights_lib.draw_weights(ours.generator_names_and_shapes(), seed)
        generator = ours.imported_generator(arrays=arrays)
    else:
        generator = ours.imported_generator(checkpoint=checkpoint)
    mine = ours.generator_outputs(generator, images, mask)
    rows = []
    for key in ("coarse", "refined"):
        error = compare.summary_error(compare.summary(f"generator/{key}", mine[key]),
                                      fixture[key])
        rows.append(compare.Row(f"generator {key} (fixture)", float("nan"), error,
                                TOLERANCES["generator"]))
    rows.append(compare.tensor_row("generator refined crop (fixture)",
                                   compare.crop_around(mine["refined"], mask, CROP),
                                   compare.decode_array(fixture["refined_crop"]),
                                   TOLERANCES["generator"], "abs"))
    rows.append(compare.offsets_row("generator offsets (fixture)", mine["offsets"],
                                    compare.decode_array(fixture["offsets"]),
                                    TOLERANCES["offsets"]))
    image, mask_image = cases_lib.server_inputs(seed, sizes)
    server = ours.server_result(generator, image, mask_image)
    server_mask = _server_mask(mask_image, server.shape)
    rows.append(compare.tensor_row(
        "test.py uint8 hole crop (fixture)",
        compare.crop_around(server, server_mask, SERVER_CROP),
        compare.decode_array(fixture["server_crop"]), TOLERANCES["uint8"], "abs"))
    return rows


# -- one training step ---------------------------------------------------------------------------


def training_theirs(graph, images, draws):
    out = graph.run(list(original_lib.TRAINING_LOSSES) + ["g_gradients", "d_gradients"],
                    images=images, top=draws.top, left=draws.left, mask=draws.mask,
                    alpha_local=draws.alpha_local, alpha_global=draws.alpha_global)
    out["g_gradients"] = dict(zip(graph.g_names, out["g_gradients"]))
    out["d_gradients"] = dict(zip(graph.d_names, out["d_gradients"]))
    for name in original_lib.TRAINING_LOSSES:
        out[name] = float(out[name])
    return out


def _reverse_batch(images, draws):
    return images[::-1], cases_lib.TrainingDraws(
        draws.top, draws.left, draws.mask, draws.alpha_local[::-1], draws.alpha_global[::-1])


def _training_rows(mine, theirs, label="", tolerance=True):
    rows = []
    for name in TRAINING_LOSSES:
        rows.append(compare.tensor_row(f"{label}{name}", mine[name], theirs[name],
                                       TOLERANCES["loss"] if tolerance else None))
    for key, what in (("d_gradients", "d_loss gradients, 20 critic variables"),
                      ("g_gradients", "g_loss gradients, 84 generator variables")):
        rows.append(compare.tensor_row(f"{label}{what}", mine[key], theirs[key],
                                       TOLERANCES["gradient"] if tolerance else None))
    return rows


def training_fixture(out):
    fixture = {"losses": {name: out[name] for name in TRAINING_LOSSES}}
    for key in ("g_gradients", "d_gradients"):
        fixture[key] = {name: compare.summary(f"{key}/{name}", value)
                        for name, value in sorted(out[key].items())}
    return fixture


def training_section(original, seed, sizes=cases_lib.Sizes()):
    images, draws = cases_lib.training_inputs(seed, sizes)
    with original_lib.build_training_step(original, sizes.train_batch, sizes.train_size,
                                          sizes.train_box, sizes.train_delta,
                                          seed=seed) as graph:
        arrays = graph.weights(graph.g_names + graph.d_names)
        theirs = training_theirs(graph, images, draws)
        theirs_reversed = training_theirs(graph, *_reverse_batch(images, draws))
    step = ours.TrainingStep(sizes, arrays)
    mine = step.run(images, draws)
    mine_reversed = step.run(*_reverse_batch(images, draws))
    rows = _training_rows(mine, theirs, "training step: ")
    noise = _training_rows(mine_reversed, mine, "gi_tf batch reversed vs gi_tf: ", False)
    noise += _training_rows(theirs_reversed, theirs, "authors' batch reversed vs authors': ",
                            False)
    rows += [row for row in noise if "gradients" in row.what]
    return rows, training_fixture(theirs)


def training_fixture_rows(fixture, seed, sizes=cases_lib.Sizes()):
    images, draws = cases_lib.training_inputs(seed, sizes)
    step = ours.TrainingStep.with_drawn_weights(sizes, seed)
    mine = step.run(images, draws)
    rows = [compare.tensor_row(f"training {name} (fixture)", mine[name], value,
                               TOLERANCES["loss"])
            for name, value in fixture["losses"].items()]
    for key in ("d_gradients", "g_gradients"):
        expected = fixture[key]
        if sorted(expected) != sorted(mine[key]):
            raise ValueError(f"fixture {key} names differ from gi_tf's variables")
        worst = max(compare.summary_error(compare.summary(f"{key}/{name}", mine[key][name]),
                                          expected[name]) for name in expected)
        rows.append(compare.Row(f"training {key} (fixture, {len(expected)} variables)",
                                float("nan"), worst, TOLERANCES["gradient"]))
    return rows


# -- everything -----------------------------------------------------------------------------------


def run_sections(original, seed, sections=SECTIONS, sizes=cases_lib.Sizes()):
    """``(rows, fixture)`` of the chosen sections."""
    builders = {"attention": lambda: attention_section(original, seed),
                "generator": lambda: generator_section(original, seed, sizes),
                "training": lambda: training_section(original, seed, sizes)}
    rows, fixture = [], {"version": FIXTURE_VERSION, "seed": seed,
                         "commits": dict(original.commits)}
    for section in sections:
        section_rows, fixture[section] = builders[section]()
        rows += section_rows
    return rows, fixture


def fixture_rows(fixture, sections=SECTIONS, sizes=cases_lib.Sizes()):
    """gi_tf against a fixture written by gi-parity (no authors' code needed)."""
    if fixture.get("version") != FIXTURE_VERSION:
        raise ValueError(f"fixture version {fixture.get('version')!r}, expected "
                         f"{FIXTURE_VERSION}")
    seed = fixture["seed"]
    checks = {"attention": attention_fixture_rows, "generator": generator_fixture_rows,
              "training": training_fixture_rows}
    rows = []
    for section in sections:
        if section == "attention":
            rows += checks[section](fixture[section], seed)
        else:
            rows += checks[section](fixture[section], seed, sizes)
    return rows
