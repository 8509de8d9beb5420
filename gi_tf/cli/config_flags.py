"""absl flags derived from the configuration dataclasses (one source for every default).

A field declared with :func:`gi_tf.utils.options.option` becomes a flag of the same name
(optionally prefixed), with the field's default, help text and, for enumerations, its
allowed values. Reading the flags back gives the dataclass. So ``gi-train --help`` and
``TrainConfig()`` can never disagree about a default.

Types: ``bool``, ``int``, ``float``, ``str`` and their ``X | None`` forms. A ``None``
default means "derived" (the help says from what); enumerations with a ``None`` default
also accept the value ``none``.

Example:
    >>> from absl import flags
    >>> from gi_tf.models.config import ModelConfig
    >>> fv = flags.FlagValues()
    >>> names = define_config_flags(ModelConfig, fv)
    >>> _ = fv(["prog", "--nouse_attention"])
    >>> config_from_flags(ModelConfig, fv)
    ModelConfig(use_attention=False, attention_implementation='batched')
"""

import dataclasses
import types
import typing

from absl import flags

from gi_tf.utils.options import field_default
from gi_tf.utils.options import option_choices
from gi_tf.utils.options import option_help

NONE_CHOICE = "none"


def _base_type(annotation):
    """``(type, optional)`` of a field annotation such as ``int | None``."""
    if isinstance(annotation, str):  # from __future__ annotations (not used here)
        annotation = eval(annotation)  # noqa: S307 (annotations of our own dataclasses)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported field type {annotation!r}")
        return args[0], True
    return annotation, False


def flag_fields(cls, skip=()):
    """The fields of ``cls`` that become flags (scalar types; not in ``skip``)."""
    fields = []
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        kind, _ = _base_type(field.type)
        if kind in (bool, int, float, str):
            fields.append(field)
    return fields


def define_config_flags(cls, flag_values, prefix="", rename=None, skip=(), defaults=None,
                        help_suffix=None):
    """Define one flag per scalar field of the dataclass ``cls``.

    Args:
        cls: a dataclass whose fields were declared with ``option``.
        flag_values: the ``absl.flags.FlagValues`` to define them on.
        prefix: str put before every field name (``"loss_"`` -> ``--loss_gamma``).
        rename: optional ``{field: flag name}`` (replaces prefix + field).
        skip: field names that get no flag.
        defaults: optional ``{field: value}`` overriding the dataclass default (e.g.
            ``None`` for a default derived from another flag); say so in help_suffix.
        help_suffix: optional ``{field: str}`` appended to the help text.

    Returns:
        ``{flag name: field name}`` of the defined flags.
    """
    rename, defaults, help_suffix = rename or {}, defaults or {}, help_suffix or {}
    names = {}
    for field in flag_fields(cls, skip):
        name = rename.get(field.name, prefix + field.name)
        kind, optional = _base_type(field.type)
        default = defaults.get(field.name, field_default(field))
        if default is dataclasses.MISSING:
            default = None
        text = option_help(field) + help_suffix.get(field.name, "")
        choices = option_choices(field)
        common = dict(flag_values=flag_values)
        if choices is not None:
            values = list(choices) + ([NONE_CHOICE] if optional else [])
            flags.DEFINE_enum(name, default, values, text, **common)
        elif kind is bool:
            flags.DEFINE_bool(name, default, text, **common)
        elif kind is int:
            flags.DEFINE_integer(name, default, text, **common)
        elif kind is float:
            flags.DEFINE_float(name, default, text, **common)
        else:
            flags.DEFINE_string(name, default, text, **common)
        names[name] = field.name
    return names


def config_values(cls, flag_values, prefix="", rename=None, skip=()):
    """``{field: value}`` of the flags :func:`define_config_flags` defined for ``cls``.

    ``none`` of an optional enumeration becomes ``None``. Flags left at a ``None``
    default are omitted, so the dataclass default (or the caller's derived value)
    applies.
    """
    rename = rename or {}
    values = {}
    for field in flag_fields(cls, skip):
        value = flag_values[rename.get(field.name, prefix + field.name)].value
        if value == NONE_CHOICE and option_choices(field) is not None:
            value = None
            values[field.name] = value
        elif value is not None:
            values[field.name] = value
    return values


def config_from_flags(cls, flag_values, prefix="", rename=None, skip=(), **extra):
    """``cls(**config_values(...), **extra)``: the dataclass the parsed flags describe."""
    values = config_values(cls, flag_values, prefix, rename, skip)
    values.update(extra)
    return cls(**values)
