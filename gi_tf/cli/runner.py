"""Running a gi_tf binary with absl: ``--help`` that lists the program's own flags.

absl's ``--help`` prints the flags that are "key" to the main module. For a console
script (``gi-export``) the main module is the wrapper pip generates, which defines no
flag, so absl prints only ``USAGE: gi-export [flags]``; ``--helpfull`` lists every flag
of every loaded library (hundreds). :func:`run_app` makes the flags the program defined
key to the main module, shows the program module's docstring as the usage text, and
makes ``--help`` (``-?``, ``--helpshort``) exit with status 0 (absl exits with 1).
A binary's console-script entry point is then ``def run(): run_app(main, define_flags)``.

The same works for ``python -m gi_tf.cli.export --help``. Library code never reads flags;
this module only concerns the binaries.

:func:`run_app` is also the one place where every binary

* sets up its output (:mod:`gi_tf.cli.console`: one line per event, TensorFlow's
  start-up noise quieted where that can be done cleanly);
* answers a wrong command line (a flag that does not parse, a bad value, an
  ``app.UsageError`` raised by ``main``) with one line, ``gi-x: error: <reason> (see
  --help)``, and exit status 1, never with the full help;
* expands ``~`` at the start of a flag's value (``--data=~/photos``: the shell leaves a
  ``~`` after ``=`` as it is), for every flag of the program (:func:`expand_user`).
"""

import os
import sys

from absl import app
from absl import flags

from gi_tf.cli import console

FLAGS = flags.FLAGS


def define_program_flags(define_flags, flag_values=FLAGS):
    """Call ``define_flags(flag_values)``; returns the names of the program's flags.

    Those are the flags ``define_flags`` defines on a fresh ``FlagValues`` (it is called
    on one first): a difference of ``flag_values`` before and after would also count
    the flags of libraries that ``define_flags`` happens to import (TensorFlow defines
    a dozen on the global ``FLAGS``).
    """
    probe = flags.FlagValues()
    define_flags(probe)
    names = sorted({probe[name].name for name in probe})
    define_flags(flag_values)
    return names


def show_in_help(names, flag_values=FLAGS):
    """Make the flags ``names`` the ones ``--help`` lists (key flags of the main module).

    absl names the main module after ``sys.argv[0]``, whichever way the program started.
    """
    for name in names:
        flag_values.register_key_flag_for_module(sys.argv[0], flag_values[name])


def use_module_docstring(module_name):
    """Show ``module_name``'s docstring as the usage text when ``__main__`` has none.

    absl prints ``__main__.__doc__`` above the flags; a console script's ``__main__`` is
    pip's wrapper, without a docstring. ``python -m`` runs the module itself, whose
    docstring is kept.
    """
    main_module = sys.modules.get("__main__")
    module = sys.modules.get(module_name)
    if main_module is not None and module is not None and not main_module.__doc__:
        main_module.__doc__ = module.__doc__


class _HelpFlag(app.HelpFlag):
    """``--help`` / ``-?``: absl's short help (the program's flags), then exit status 0."""

    def parse(self, arg):
        if self._parse(arg):
            app.usage(shorthelp=True, writeto_stdout=True)
            print()
            print("Try --helpfull to get a list of all flags.")
            sys.exit(0)


class _HelpshortFlag(_HelpFlag):
    """``--helpshort``: an alias of ``--help``."""

    NAME = app.HelpshortFlag.NAME
    SHORT_NAME = app.HelpshortFlag.SHORT_NAME


def install_help_flags(flag_values=FLAGS):
    """Define absl's help flags, with ``--help`` / ``--helpshort`` exiting with status 0.

    Idempotent; ``--helpfull`` and ``--helpxml`` stay absl's.
    """
    app.define_help_flags()
    for cls in (_HelpFlag, _HelpshortFlag):
        if isinstance(flag_values[cls.NAME], cls):
            continue
        for name in (cls.NAME, cls.SHORT_NAME):
            if name is not None and name in flag_values:
                delattr(flag_values, name)
        flags.DEFINE_flag(cls(), flag_values=flag_values)


def _expanded(value):
    if isinstance(value, str) and value.startswith("~"):
        return os.path.expanduser(value)
    return value


def expand_user(names, flag_values=FLAGS):
    """Expand a leading ``~`` / ``~user`` in the values of the flags ``names`` (in place).

    The shell expands ``~`` only at the start of a word, so ``--data=~/photos`` reaches
    the program as written. Strings and the items of list flags are expanded; values
    that do not start with ``~`` are left alone.
    """
    for name in names:
        flag = flag_values[name]
        value = flag.value
        if isinstance(value, str):
            new = _expanded(value)
        elif isinstance(value, (list, tuple)):
            new = type(value)(_expanded(item) for item in value)
        else:
            continue
        if new != value:
            flag.value = new


def flags_parser(names, flag_values=FLAGS):
    """An ``absl.app.run`` flags parser: parse, one-line usage errors, expand ``~``."""

    def parse(argv):
        try:
            args = flag_values(argv)
        except flags.Error as err:  # unknown flag, bad value, failed validator
            console.usage_error(err)
        expand_user(names, flag_values)
        return args

    return parse


def one_line_usage_errors(main):
    """``main`` with an ``app.UsageError`` it raises printed as one line (exit status 1)."""

    def checked_main(argv):
        try:
            return main(argv)
        except app.UsageError as err:
            console.usage_error(err)

    return checked_main


def run_app(main, define_flags):
    """Set up the output, define the program's flags, then ``app.run(main)``.

    ``--help`` lists the program's own flags; usage errors are one line; ``~`` in flag
    values is expanded (module doc).

    Args:
        main: ``main(argv)``, the program (as for ``absl.app.run``); its module's
            docstring is the usage text.
        define_flags: ``define_flags(flag_values)``, defines the program's flags on the
            ``absl.flags.FlagValues`` it is given (here the global ``flags.FLAGS``).
            The flags it defines are the ones ``--help`` lists.
    """
    console.setup(console.program_name(main.__module__))
    names = define_program_flags(define_flags)
    show_in_help(names)
    use_module_docstring(main.__module__)
    install_help_flags()
    app.run(one_line_usage_errors(main), flags_parser=flags_parser(names))
