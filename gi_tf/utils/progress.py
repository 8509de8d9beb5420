"""THE progress display of every tool: a live line on a terminal, plain lines in a log.

On a terminal (``stream.isatty()``) the line is redrawn in place after each step (a
carriage return, no other escape code). Anywhere else (stdout redirected to a file, CI,
a pipe) it writes one plain line each time another ``every_percent`` of the total is done
(and at the last step), so a log holds a few readable lines and no ``\\r`` or ANSI codes
(``keras.utils.Progbar`` fills a log with both). With an unknown total it writes a line
every ``every_steps`` steps instead.

>>> import io
>>> log = io.StringIO()
>>> bar = Progress(4, unit="image", stream=log, every_percent=50, clock=lambda: 0.0)
>>> for _ in range(4):
...     bar.update()
>>> print(log.getvalue(), end="")
2/4 images (50%), 0.0 s
4/4 images (100%), 0.0 s
"""

import sys
import time


def is_terminal(stream):
    """Whether ``stream`` is an interactive terminal (False for files, pipes, StringIO)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


class Progress:
    """Counts steps and shows ``"3/40 images (7%), 2.4 s[, extra]"``.

    Args:
        total: number of steps, or None when unknown.
        unit: what a step is, singular (``"image"``); plural adds an ``s``.
        stream: where to write (``sys.stdout``, read at each write when None, so a
            test's captured stdout is used).
        every_percent: off a terminal, a line each time this much more of ``total`` is done.
        every_steps: off a terminal with ``total`` unknown, a line every this many steps.
        clock: seconds function (``time.perf_counter``).
    """

    def __init__(self, total, unit="step", stream=None, every_percent=10, every_steps=10,
                 clock=time.perf_counter):
        self.total = None if total is None else int(total)
        self.unit = unit
        self.done = 0
        self._stream = stream
        self._every_percent = max(float(every_percent), 1e-9)
        self._every_steps = max(int(every_steps), 1)
        self._clock = clock
        self._start = clock()
        self._last_shown = 0.0  # percent (or steps) of the last plain line
        self._redraw = is_terminal(self.stream)

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def line(self, extra=""):
        """The progress text, e.g. ``"3/40 images (7%), 2.4 s"``."""
        seconds = self.elapsed()
        units = self.unit if self.done == 1 and self.total in (None, 1) else self.unit + "s"
        if self.total:
            text = (f"{self.done}/{self.total} {units} "
                    f"({100.0 * self.done / self.total:.0f}%), {seconds:.1f} s")
        else:
            text = f"{self.done} {units}, {seconds:.1f} s"
        return text + (f", {extra}" if extra else "")

    @property
    def finished(self):
        return self.total is not None and self.done >= self.total

    def elapsed(self):
        """Seconds since the display was made."""
        return self._clock() - self._start

    def update(self, done=None, extra="", text=None):
        """Set the count (default: one more step) and show the line as the display rule says.

        ``text`` replaces the whole line (a caller with its own format, e.g. gi-inpaint's
        failed count); ``extra`` is appended to :meth:`line`.
        """
        self.done = self.done + 1 if done is None else int(done)
        stream = self.stream
        if self._redraw:
            shown = self.line(extra) if text is None else text
            stream.write("\r" + shown + ("\n" if self.finished else ""))
        elif self._due():
            stream.write((self.line(extra) if text is None else text) + "\n")
        stream.flush()

    def _due(self):
        if self.finished:
            return True
        if not self.total:
            if self.done - self._last_shown >= self._every_steps:
                self._last_shown = self.done
                return True
            return False
        percent = 100.0 * self.done / self.total
        if percent - self._last_shown >= self._every_percent:
            self._last_shown = percent - percent % self._every_percent
            return True
        return False
