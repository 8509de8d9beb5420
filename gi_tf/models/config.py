"""Model configuration shared by training, export, import and inference.

Plain frozen dataclasses: built from absl flags in ``gi_tf/cli`` and passed down
explicitly; written as JSON (``model_config.json``) next to every checkpoint and
export so a model can be rebuilt without the flags that made it.
"""

import dataclasses
import json
import os

from gi_tf.layers.contextual_attention import IMPLEMENTATIONS

MODEL_CONFIG_FILE = "model_config.json"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """How to build the generator.

    Attributes:
        use_attention: build the contextual-attention branch (False = the paper's
            baseline, for the ablation).
        attention_implementation: ``"batched"`` (default, faster) or ``"literal"``.
    """

    use_attention: bool = True
    attention_implementation: str = "batched"

    def validate(self):
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
        return cls(**values).validate()

    def write(self, directory):
        """Write ``model_config.json`` into ``directory`` (atomically)."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, MODEL_CONFIG_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, directory, default=None):
        """Read ``model_config.json`` from ``directory``; ``default`` (or defaults) if absent."""
        path = os.path.join(directory, MODEL_CONFIG_FILE)
        if not os.path.exists(path):
            return default if default is not None else cls()
        with open(path) as f:
            return cls.from_dict(json.load(f))
