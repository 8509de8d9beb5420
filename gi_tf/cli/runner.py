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
"""

import sys

from absl import app
from absl import flags

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


def run_app(main, define_flags):
    """Define the program's flags, then ``app.run(main)`` with a useful ``--help``.

    Args:
        main: ``main(argv)``, the program (as for ``absl.app.run``); its module's
            docstring is the usage text.
        define_flags: ``define_flags(flag_values)``, defines the program's flags on the
            ``absl.flags.FlagValues`` it is given (here the global ``flags.FLAGS``).
            The flags it defines are the ones ``--help`` lists.
    """
    show_in_help(define_program_flags(define_flags))
    use_module_docstring(main.__module__)
    install_help_flags()
    app.run(main)
