"""Names of the training loss terms and the NaN/Inf check that stops a run.

A run checks every step's loss means before it writes anything (summaries,
checkpoints), so a non-finite value never reaches disk: the newest checkpoint is the
last good state.
"""

import math

CRITIC_TERMS = ("d_global", "d_local", "gp", "d_total")
GENERATOR_TERMS = ("hole_l1", "known_l1", "g_global", "g_local", "g_adv", "g_total")
# Order of computation inside a step: the check reports the earliest bad term.
TRAIN_TERMS = CRITIC_TERMS + GENERATOR_TERMS


ADVERSARIAL_TERMS = ("g_global", "g_local", "g_adv")


def trained_terms(config):
    """The terms of :data:`TRAIN_TERMS` that a run with ``config`` actually trains.

    Critic terms need ``critic_steps > 0``; the generator's adversarial terms need
    ``loss.gan_weight > 0`` (they are 0 otherwise). Progress lines show only these.

    Args:
        config: a :class:`gi_tf.training.config.TrainConfig`.
    """
    return tuple(term for term in TRAIN_TERMS
                 if not (term in CRITIC_TERMS and config.critic_steps == 0)
                 and not (term in ADVERSARIAL_TERMS and config.loss.gan_weight == 0))


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or Inf; training stops without saving the bad state."""

    def __init__(self, term, step, value):
        self.term, self.step, self.value = term, int(step), float(value)
        super().__init__(
            f"Loss term '{term}' is not finite ({value}) at step {self.step}; training "
            "stopped and nothing was saved after the last good checkpoint. Lower the "
            "learning rate, check the input data, or try float32 instead of mixed "
            "precision.")


def check_finite(logs, step):
    """Raise :class:`NonFiniteLossError` for the first non-finite term of ``logs``.

    Args:
        logs: ``{term: float}`` as returned by a train step.
        step: int, the step the values belong to (reported in the error).

    Example:
        >>> check_finite({"gp": 1.0, "d_total": float("inf")}, 3)
        Traceback (most recent call last):
        ...
        gi_tf.training.loss_checks.NonFiniteLossError: Loss term 'd_total' is not finite (inf) at step 3; ...
    """
    ordered = [t for t in TRAIN_TERMS if t in logs] + sorted(set(logs) - set(TRAIN_TERMS))
    for term in ordered:
        value = float(logs[term])
        if not math.isfinite(value):
            raise NonFiniteLossError(term, step, value)
