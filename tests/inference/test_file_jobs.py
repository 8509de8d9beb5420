"""gi_tf/inference/file_jobs.py: the folder run's progress bar."""

from gi_tf.inference import file_jobs


def _result(ok):
    return file_jobs.JobResult(file_jobs.Job("a.png", "m.png", "o.png"), ok, "", [], 0.1)


def test_the_progress_bar_counts_failures_as_whole_numbers(capsys):
    progress = file_jobs.JobProgress(3)
    for ok in (True, True, False):
        progress.add(_result(ok))
    out = capsys.readouterr().out
    assert "failed: 0" in out and "failed: 1" in out and progress.failed == 1
    assert "e+00" not in out and "e-0" not in out  # was "failed: 0.0000e+00", then averaged
