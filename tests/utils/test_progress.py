"""gi_tf/utils/progress.py: a live line on a terminal, plain lines per N percent elsewhere."""

import io

from gi_tf.utils.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(stream, total, steps, **kwargs):
    bar = Progress(total, unit="image", stream=stream, clock=lambda: 0.0, **kwargs)
    for _ in range(steps):
        bar.update()
    return stream.getvalue()


def test_a_log_gets_one_plain_line_per_ten_percent_and_the_last():
    text = _run(io.StringIO(), 25, 25)
    assert "\r" not in text and "\x1b" not in text
    # 25 steps of 4%: a line at 12, 20, 32, ... (each time 10 more percent are passed)
    counts = [int(line.split("/")[0]) for line in text.splitlines()]
    assert counts == [3, 5, 8, 10, 13, 15, 18, 20, 23, 25]
    assert text.splitlines()[-1] == "25/25 images (100%), 0.0 s"


def test_a_terminal_gets_the_line_redrawn_after_each_step():
    text = _run(_Terminal(), 3, 3)
    assert text.split("\r")[1:] == ["1/3 images (33%), 0.0 s", "2/3 images (67%), 0.0 s",
                                    "3/3 images (100%), 0.0 s\n"]


def test_unknown_total_writes_every_n_steps():
    text = _run(io.StringIO(), None, 7, every_steps=3)
    assert text.splitlines() == ["3 images, 0.0 s", "6 images, 0.0 s"]
