"""gi_tf/inference/file_jobs.py: the folder run's progress line."""

import io

from gi_tf.inference import file_jobs


def _result(ok):
    return file_jobs.JobResult(file_jobs.Job("a.png", "m.png", "o.png"), ok, "", [], 0.1)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_line_counts_failures_as_whole_numbers():
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = file_jobs.JobProgress(3, stream=stream)
        for ok in (True, True, False):
            progress.add(_result(ok))
        assert progress.failed == 1 and progress.done == 3
    frames = terminal.getvalue().split("\r")[1:]
    assert [f.split(",")[:2] for f in frames] == [
        ["1/3 images", " 0 failed"], ["2/3 images", " 0 failed"], ["3/3 images", " 1 failed"]]
    assert frames[-1].endswith(" s\n") and "e+00" not in terminal.getvalue()
    # off a terminal: a plain line per 10% of the jobs (here every job), no carriage returns
    assert "\r" not in log.getvalue()
    assert [line.split(",")[:2] for line in log.getvalue().splitlines()] == [
        ["1/3 images", " 0 failed"], ["2/3 images", " 0 failed"], ["3/3 images", " 1 failed"]]
