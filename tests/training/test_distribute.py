"""Tests for gi_tf/training/distribute.py and the training step under tf.distribute.

* One step on two logical CPUs (``MirroredStrategy``) equals one step on one device with
  the same global batch (tests/conftest.py splits the CPU before TensorFlow starts; if
  it could not, the comparison runs in a fresh subprocess).
* Two worker processes on 127.0.0.1 (``MultiWorkerMirroredStrategy`` via ``TF_CONFIG``)
  train two compiled steps through ``gi_tf.training.loop.train`` and end with identical
  weights; only the chief keeps a checkpoint.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.training import distribute

import distribute_checks

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER_TIMEOUT_S = 600


def test_make_strategy_rejects_bad_requests(monkeypatch):
    with pytest.raises(ValueError, match="strategy='tpu'"):
        distribute.make_strategy("tpu")
    with pytest.raises(ValueError, match="only apply to strategy='mirrored'"):
        distribute.make_strategy("default", devices=["/cpu:0"])
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}))
    with pytest.raises(ValueError, match="task index 3"):
        distribute.make_strategy("multi_worker")


def test_default_strategy_is_a_single_chief_worker(tmp_path):
    info = distribute.worker_info(distribute.make_strategy("default"))
    assert (info.num_workers, info.worker_index, info.num_replicas, info.is_chief) == (
        1, 0, 1, True)
    assert distribute.write_directory(str(tmp_path), info) == str(tmp_path)
    other = distribute.WorkerInfo(num_workers=2, worker_index=1)
    assert distribute.write_directory("run", other) == os.path.join("run", ".worker-1")
    context = distribute.input_context(distribute.WorkerInfo(num_workers=2, worker_index=1))
    assert context.get_per_replica_batch_size(12) == 6 and context.input_pipeline_id == 1


def test_replica_slices_split_every_update_batch():
    # 3 update batches of 4 images for 2 replicas: replica r gets images 2r, 2r+1 of each.
    batch = tf.reshape(tf.range(12), [12, 1, 1, 1])
    slices = distribute.replica_slices(batch, batches_per_step=3, replicas=2)
    assert [s[:, 0, 0, 0].numpy().tolist() for s in slices] == [
        [0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    assert distribute.replica_slices(batch, 3, 1)[0] is batch


def _mirrored_and_single():
    if len(tf.config.list_logical_devices("CPU")) >= 2:
        return distribute_checks.mirrored_and_single()
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"mirrored-{os.getpid()}.npz")
    subprocess.run([sys.executable, os.path.join(TESTS_DIR, "distribute_checks.py"),
                    "mirrored", out], check=True, timeout=WORKER_TIMEOUT_S)
    values = np.load(out)
    split = [{k.split(":", 1)[1]: values[k] for k in values.files if k.startswith(p)}
             for p in ("single:", "mirrored:")]
    os.remove(out)
    return split


def test_one_step_on_two_replicas_equals_one_step_on_one_device():
    single, mirrored = _mirrored_and_single()
    assert single.keys() == mirrored.keys() and int(single["step"]) == 1
    networks = [k for k in single if k.startswith(("generator/", "local_critic/",
                                                       "global_critic/"))]
    moments = [k for k in single if "optimizer" in k and single[k].ndim > 0]
    assert len(moments) == 2 * len(networks)  # Adam's m and v for every weight
    for name in moments:
        # After one update Adam holds m = 0.5 g and v = 0.1 g^2 of the all-reduced
        # gradient g: a replica-scaling error would show as a factor 2 (m) or 4 (v);
        # a different float reduction order changes them by ~1e-6 of their scale.
        scale = np.max(np.abs(single[name])) + 1e-30
        np.testing.assert_allclose(mirrored[name], single[name], atol=1e-4 * scale, err_msg=name)
    compared = total = 0
    for name in networks:
        # Adam's first step moves each weight by about lr * sign(g); where |g| is at
        # the float noise level that sign is noise, so compare where g is resolved.
        first_moment = single[_moment_name(single, name, "momentum")]
        resolved = np.abs(first_moment) > 1e-2 * np.max(np.abs(first_moment))
        np.testing.assert_allclose(mirrored[name][resolved], single[name][resolved],
                                   atol=1e-7, err_msg=name)
        compared, total = compared + resolved.sum(), total + resolved.size
    assert compared > 0.3 * total, (compared, total)


def _moment_name(weights, name, kind):
    """The optimizer slot of kind ``momentum``/``velocity`` for weight ``name``."""
    network, _, path = name.split("/", 2)
    optimizer = "d_optimizer" if "critic" in network else "g_optimizer"
    wanted = "_".join(path.split("/")) + f"_{kind}"
    matches = [k for k in weights if k.startswith(optimizer) and k.endswith(wanted)]
    assert len(matches) == 1, (name, matches)
    return matches[0]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.e2e
def test_two_workers_on_localhost_end_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    model_dir = str(tmp_path / "run")
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        log = open(tmp_path / f"worker{index}.log", "w")
        processes.append((subprocess.Popen(
            [sys.executable, os.path.join(TESTS_DIR, "distribute_checks.py"), "worker",
             model_dir, str(tmp_path / f"weights{index}.npz")],
            env=env, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        codes = [process.wait(timeout=WORKER_TIMEOUT_S) for process, _ in processes]
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
            log.close()
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    first, second = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
    assert first.files == second.files and int(first["step"]) == 2
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-2")
    assert not os.path.exists(os.path.join(model_dir, ".worker-1"))  # scratch removed
    assert "step 2/2" in logs[0] and "step 2/2" not in logs[1]  # only the chief reports


def test_devices_tensorflow_does_not_see_are_refused_naming_the_visible_ones():
    gpus = len(tf.config.list_logical_devices("GPU"))
    cpus = len(tf.config.list_logical_devices("CPU"))
    visible = ", ".join(distribute.visible_devices())
    # Before: MirroredStrategy accepted them, and its first all-reduce waited forever.
    with pytest.raises(ValueError, match=f"does not see /gpu:{gpus}, /gpu:{gpus + 1}; it "
                                         f"sees {visible}$"):
        distribute.make_strategy("mirrored", [f"/gpu:{gpus}", f"/gpu:{gpus + 1}"])
    # the runtime runs in this process: CPUs can no longer be split
    with pytest.raises(ValueError, match=f"does not see /cpu:{cpus}.*had started already"):
        distribute.check_devices(["/cpu:0", f"/cpu:{cpus}"])
    with pytest.raises(ValueError, match="given more than once"):
        distribute.check_devices(["/cpu:0", "CPU:0"])
    with pytest.raises(ValueError, match="not a local device"):
        distribute.check_devices(["/job:worker/task:1/cpu:0"])
    assert distribute.check_devices(["/device:CPU:0"]) == ["/cpu:0"]


@pytest.mark.e2e
def test_cpu_devices_are_split_before_tensorflow_starts():
    script = ("from gi_tf.training import distribute; lines = []; "
              "print(distribute.check_devices(['/cpu:0', '/cpu:1', '/cpu:2'], "
              "log=lines.append)); print(lines[0])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(TESTS_DIR), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", script], env=env, text=True,
                          capture_output=True, timeout=WORKER_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    names, line = done.stdout.splitlines()[-2:]
    assert names == "['/cpu:0', '/cpu:1', '/cpu:2']"
    assert "split into 3 logical devices" in line and "sees /cpu:0, /cpu:1, /cpu:2" in line


def test_stall_watch_says_so_when_no_progress_comes():
    import threading
    import time

    lines, said = [], threading.Event()

    def log(line):
        lines.append(line)
        said.set()

    with distribute.StallWatch(log, after_s=0.2, what="all 2 workers of TF_CONFIG") as watch:
        assert said.wait(10)
    assert "no progress for" in lines[0] and "all 2 workers of TF_CONFIG" in lines[0]
    quiet = []
    with distribute.StallWatch(quiet.append, after_s=0.5) as watch:
        for _ in range(10):
            watch.progress()
            time.sleep(0.1)
    assert quiet == []
