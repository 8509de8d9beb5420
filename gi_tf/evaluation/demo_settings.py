"""One demo run's settings, importable without TensorFlow (``gi-demo --help`` reads the
defaults); the run itself is :func:`gi_tf.evaluation.demo.run_demo`."""

import dataclasses

DEFAULT_SEEDS = (0, 1, 2)


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """One demo run.

    Attributes:
        output_dir: str, everything is written below it.
        train_config: :class:`~gi_tf.training.config.TrainConfig` of every model (its
            ``seed`` is replaced by each of ``seeds``).
        seeds: tuple of ints, training seeds (weights, data order, holes); every variant
            is trained once per seed.
        train_images: int, size of the training pool (wallpapers of the training seed).
        held_out: int, held-out wallpapers (each evaluated with every mask kind).
        mask_kinds: tuple of ``"box"``/``"free"``.
        mask_seed: int, seed of the evaluation holes.
        photos: bool, add scikit-image photographs (training crops, held-out photos).
        ablation: bool, also train and evaluate the no-attention generator.
        num_examples: int, rows of ``eval/examples.png``.
        deterministic: bool, run with TensorFlow's op determinism (:func:`op_determinism`).
        command, date: str, recorded in ``eval/metrics.md``.
    """

    output_dir: str
    train_config: object
    seeds: tuple = DEFAULT_SEEDS
    train_images: int = 512
    held_out: int = 16
    mask_kinds: tuple = ("box", "free")
    mask_seed: int = 0
    photos: bool = False
    ablation: bool = True
    num_examples: int = 4
    deterministic: bool = True
    command: str = ""
    date: str = ""

    def validate(self):
        """Raise ``ValueError`` naming the first invalid field; return ``self``."""
        seeds = tuple(self.seeds)
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"DemoSettings.seeds={self.seeds!r}: must list distinct "
                             "integers >= 0")
        for field in ("train_images", "held_out", "num_examples"):
            if getattr(self, field) < 1:
                raise ValueError(f"DemoSettings.{field}={getattr(self, field)!r}: must be >= 1")
        return self
