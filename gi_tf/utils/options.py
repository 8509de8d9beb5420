"""Config fields that carry their own help: one source for defaults, CLI flags and docs.

The configuration dataclasses (``TrainConfig``, ``LossConfig``, ``MaskConfig``,
``DataConfig``, ``ModelConfig``) declare each field with :func:`option`, which stores a
one-line help text (and, for enumerations, the allowed values) in the field's
``metadata``. ``gi_tf.cli.config_flags`` turns such fields into absl flags, so a
default is written once, in the dataclass, and ``--help`` shows the same text.

Example:
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Example:
    ...     size: int = option(256, "Image side in pixels.")
    >>> field = dataclasses.fields(Example)[0]
    >>> field.default, option_help(field)
    (256, 'Image side in pixels.')
"""

import dataclasses

HELP_KEY = "help"
CHOICES_KEY = "choices"


def option(default=dataclasses.MISSING, help="", choices=None, default_factory=None):
    """A ``dataclasses.field`` with a help text (and allowed values) in its metadata.

    Args:
        default: the field's default (omit for a required field).
        help: str, one line for ``--help`` and generated docs.
        choices: optional sequence of allowed string values (an enumeration flag).
        default_factory: optional zero-argument callable, as in ``dataclasses.field``.
    """
    metadata = {HELP_KEY: help}
    if choices is not None:
        metadata[CHOICES_KEY] = tuple(choices)
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def option_help(field):
    """The help text of a dataclass field declared with :func:`option` ('' otherwise)."""
    return field.metadata.get(HELP_KEY, "")


def option_choices(field):
    """The allowed values of an enumeration field, or None."""
    return field.metadata.get(CHOICES_KEY)


def field_default(field):
    """A field's default value (calling ``default_factory``); ``MISSING`` when required."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default
