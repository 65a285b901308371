"""Learning-rate schedules (``keras.optimizers.schedules``): callables from the
optimizer step (``optimizer.iterations``, counted per batch) to a rate."""
import inspect
import math


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and, to be serializable, ``get_config``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override __call__(self, step)")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override get_config() "
                                  "in order to be serializable")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _BuiltinSchedule(LearningRateSchedule):
    """The built-in schedules keep every constructor argument as an attribute of the same name."""

    def get_config(self):
        params = inspect.signature(type(self).__init__).parameters
        return {k: getattr(self, k) for k in params if k != "self"}


def _check_positive(owner, arg, value):
    if not value > 0:
        raise ValueError(f"{owner}: argument {arg} must be > 0. Received: {arg}={value}")


class ExponentialDecay(_BuiltinSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps); the exponent is floored when staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)


class InverseTimeDecay(_BuiltinSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps); the ratio is floored when staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))


class PiecewiseConstantDecay(_BuiltinSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
    values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of "
                             f"values. Received {len(boundaries)} boundaries and {len(values)} values")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class PolynomialDecay(_BuiltinSchedule):
    """From initial_learning_rate to end_learning_rate in decay_steps along (1 - step/decay_steps) ** power;
    with cycle, decay_steps stretches to the first multiple of itself that is >= step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps *= max(1, math.ceil(step / steps))
        else:
            step = min(step, steps)
        frac = (1 - step / steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * frac + self.end_learning_rate


def _cosine(fraction, alpha):
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(_BuiltinSchedule):
    """With warmup_target: linear warmup from initial_learning_rate to warmup_target over warmup_steps.
    Then cosine decay over decay_steps from the start rate (warmup_target, else initial_learning_rate)
    to alpha times it."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                               alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        if self.warmup_target is None:
            return self.initial_learning_rate * _cosine(min(step, self.decay_steps) / self.decay_steps, self.alpha)
        if step < self.warmup_steps:
            start = self.initial_learning_rate
            return start + (self.warmup_target - start) * step / self.warmup_steps
        decayed = min(step - self.warmup_steps, self.decay_steps)
        return self.warmup_target * _cosine(decayed / self.decay_steps, self.alpha)


class CosineDecayRestarts(_BuiltinSchedule):
    """Cosine decay over first_decay_steps, then warm restarts: period i lasts t_mul**i times longer and
    starts from m_mul**i times the initial rate."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _check_positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # periods 1, t, t^2, ...: the restart index comes from the geometric sum
            restart = math.floor(math.log(1 - fraction * (1 - self.t_mul)) / math.log(self.t_mul))
            done = (1 - self.t_mul ** restart) / (1 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


_SCHEDULES = {c.__name__: c for c in [ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
                                      CosineDecay, CosineDecayRestarts]}


def serialize(schedule):
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _SCHEDULES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. Known: {', '.join(sorted(_SCHEDULES))}")
    return cls.from_config(config["config"])
