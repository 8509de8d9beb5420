"""Model configuration shared by training, export, import and inference.

Plain frozen dataclasses: built from absl flags in ``gi_tf/cli`` and passed down
explicitly; written as JSON (``model_config.json``) next to every checkpoint and
export so a model can be rebuilt without the flags that made it.
"""

import dataclasses

from gi_tf.layers.attention_options import IMPLEMENTATIONS
from gi_tf.utils import files
from gi_tf.utils.options import option

MODEL_CONFIG_FILE = "model_config.json"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """How to build the generator.

    Attributes:
        use_attention: build the contextual-attention branch (False = the paper's
            baseline, for the ablation).
        attention_implementation: ``"batched"`` (default, faster) or ``"literal"``.
    """

    use_attention: bool = option(True, "Contextual-attention branch (False = the baseline).")
    attention_implementation: str = option("batched", "Contextual attention implementation.",
                                           choices=IMPLEMENTATIONS)

    def __post_init__(self):
        self.validate()  # an invalid ModelConfig cannot exist

    def validate(self):
        """Raise ``ValueError`` naming the invalid field; return ``self`` (runs when the
        config is made, ``__post_init__``)."""
        if self.attention_implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"ModelConfig.attention_implementation must be one of {IMPLEMENTATIONS}, "
                f"got {self.attention_implementation!r}"
            )
        return self

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown ModelConfig fields {unknown}; known: {sorted(known)}")
        return cls(**values)

    def write(self, directory):
        """Write ``model_config.json`` into ``directory`` (atomically; any TF filesystem)."""
        return files.write_json(files.join(directory, MODEL_CONFIG_FILE), self.to_dict())

    @classmethod
    def read(cls, directory, default=None):
        """Read ``model_config.json`` from ``directory``; ``default`` (or defaults) if absent."""
        path = files.join(directory, MODEL_CONFIG_FILE)
        if not files.exists(path):
            return default if default is not None else cls()
        return cls.from_dict(files.read_json(path))
