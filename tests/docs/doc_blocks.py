"""The fenced code blocks of a Markdown file, with the doc-test markers written before them.

Not a test module: :mod:`test_documented_commands` runs what this module reads.

A block is a fenced ```` ``` ```` block. Its *language* is the word after the fence
(``bash``, ``python``, ...); only ``bash``/``sh``/``console`` and ``python`` blocks are
commands, the others (``bibtex``, a layout tree, JSON) are listed as "not a command".
A bash block is split into commands: comment lines and blank lines are dropped,
lines ending in ``\\`` are joined with the next one.

A marker is an HTML comment (invisible on GitHub) right above the fence, blank lines
allowed in between, that starts with ``doc-test``; one directive per line:

* ``not run: REASON`` -- the whole block is not run in CI, for REASON.
* ``not run `PREFIX`: REASON`` -- commands that start with PREFIX are not run.
* ``in CI `OLD` -> `NEW`: REASON`` -- the command is run with OLD replaced by NEW
  (smaller sizes, fewer steps).
* ``given: NAME, NAME`` -- a Python block uses these names without defining them (the
  reader's own data); the test defines them.

Example (in the Markdown source)::

    <!-- doc-test
    not run `pip install`: installs the package itself (CI installs it: .ci/run)
    in CI `--max_steps=2000` -> `--max_steps=2`: the same command, two steps
    -->
"""

import dataclasses
import re

COMMAND_LANGUAGES = ("bash", "sh", "shell", "console")
PYTHON_LANGUAGES = ("python", "py")
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_NOT_RUN_PREFIX = re.compile(r"^not run `([^`]+)`:\s*(.+)$")
_NOT_RUN = re.compile(r"^not run:\s*(.+)$")
_REPLACE = re.compile(r"^in CI `([^`]+)` -> `([^`]*)`:\s*(.+)$")
_GIVEN = re.compile(r"^given:\s*(.+)$")


class MarkerError(ValueError):
    """A doc-test marker that does not follow the grammar of the module doc."""


@dataclasses.dataclass
class Marker:
    """What a block's doc-test comment says (empty: run everything as written)."""

    not_run: str = ""                                  # reason, for the whole block
    not_run_prefixes: list = dataclasses.field(default_factory=list)  # [(prefix, reason)]
    replacements: list = dataclasses.field(default_factory=list)      # [(old, new, reason)]
    given: tuple = ()


@dataclasses.dataclass
class Block:
    """One fenced block: where it is, its language, text and marker."""

    path: str
    line: int            # 1-based line of the opening fence
    language: str
    text: str
    marker: Marker
    heading: str = ""    # the nearest heading above it

    @property
    def kind(self):
        if self.language in COMMAND_LANGUAGES:
            return "commands"
        if self.language in PYTHON_LANGUAGES:
            return "python"
        return "not a command"

    @property
    def name(self):
        return f"{self.path}:{self.line}"

    def commands(self):
        """The block's shell commands, continuation lines joined (bash blocks only)."""
        return split_commands(self.text)


def split_commands(text):
    """Commands of a shell block: ``\\``-continued lines joined, comments dropped."""
    commands, current = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        current += line.strip() if current else line.strip()
        commands.append(_strip_comment(current).strip())
        current = ""
    if current.strip():
        commands.append(_strip_comment(current).strip())
    return commands


def _strip_comment(command):
    """``command`` without a trailing ``  # comment`` (a ``#`` outside quotes after a space)."""
    quote = None
    for index, char in enumerate(command):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and index > 0 and command[index - 1].isspace():
            return command[:index]
    return command


def parse_marker(comment, where):
    """:class:`Marker` from the text of a ``<!-- doc-test ... -->`` comment."""
    body = comment.strip()[len("<!--"):]
    body = body[:body.rindex("-->")] if "-->" in body else body
    body = body.strip()[len("doc-test"):].lstrip(":").strip()
    marker = Marker()
    for line in (part.strip() for part in body.splitlines()):
        if not line:
            continue
        if match := _NOT_RUN_PREFIX.match(line):
            marker.not_run_prefixes.append((match.group(1), match.group(2)))
        elif match := _NOT_RUN.match(line):
            marker.not_run = match.group(1)
        elif match := _REPLACE.match(line):
            marker.replacements.append(match.groups())
        elif match := _GIVEN.match(line):
            marker.given = tuple(name.strip() for name in match.group(1).split(","))
        else:
            raise MarkerError(f"{where}: unknown doc-test directive {line!r}")
    return marker


def read_blocks(path, text=None, display_path=None):
    """Every fenced block of the Markdown file ``path`` (or of ``text``), in order."""
    if text is None:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    display_path = display_path or path
    lines = text.splitlines()
    blocks, heading, index = [], "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        match = _FENCE.match(line)
        if not match:
            index += 1
            continue
        start, indent, language = index, match.group(1), match.group(2).lower()
        index += 1
        body = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][len(indent):] if lines[index].startswith(indent)
                        else lines[index])
            index += 1
        where = f"{display_path}:{start + 1}"
        marker = _marker_above(lines, start, where)
        blocks.append(Block(display_path, start + 1, language, "\n".join(body) + "\n",
                            marker, heading))
        index += 1
    return blocks


def _marker_above(lines, start, where):
    """The doc-test comment that ends right above line ``start`` (blank lines between)."""
    end = start - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return Marker()
    begin = end
    while begin >= 0 and "<!--" not in lines[begin]:
        begin -= 1
    comment = "\n".join(lines[begin:end + 1]).strip()
    if not comment.startswith("<!-- doc-test") and not comment.startswith("<!--doc-test"):
        return Marker()
    return parse_marker(comment, where)
