"""Optimizers with Keras' names, defaults and update rules. Each step is a
single fused C++ call over all variables (see csrc/kernels/optim.cpp);
clipnorm / clipvalue / global_clipnorm and weight decay are folded into it."""
from .. import _core, _registry
from .._tensor import Variable, zeros
from . import schedules
from .schedules import LearningRateSchedule


class Optimizer:
    """Base class: ``apply_gradients(zip(grads, vars))`` updates variables in place."""

    _slot_names = ()  # Keras names of the per-variable state, in Keras order

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set")
        for arg, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm),
                       ("weight_decay", weight_decay)):
            if v is not None and v < 0:
                raise ValueError(f"{type(self).__name__}: {arg} must be >= 0, got {v}")
        if use_ema:
            raise NotImplementedError("use_ema is not supported yet")
        from .._naming import to_snake_case

        self.name = name or to_snake_case(type(self).__name__)
        self._learning_rate = learning_rate
        self._check_lr(learning_rate)
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = (weight_decay, clipnorm, clipvalue,
                                                                                    global_clipnorm)
        self.iterations = 0
        self._slots = {}  # id(variable) -> list of slot Variables
        self._vars = []  # variables in the order they were first seen
        self._no_decay = set()
        self._cache_key, self._cache = None, None

    @staticmethod
    def _check_lr(lr):
        if not isinstance(lr, LearningRateSchedule) and not callable(lr):
            if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr < 0:
                raise ValueError(f"learning_rate must be a non-negative float or a schedule, got {lr!r}")

    # --- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._check_lr(value)
        self._learning_rate = value

    lr = learning_rate

    # --- state --------------------------------------------------------------------------
    def build(self, var_list):
        for v in var_list:
            if id(v) not in self._slots:
                self._slots[id(v)] = [Variable(self._slot_init(name, v), trainable=False, name=name, dtype=v.dtype)
                                      for name in self._active_slots()]
                self._vars.append(v)

    def _active_slots(self):
        return self._slot_names

    def _slot_init(self, name, var):
        return zeros(var.shape, var.dtype)

    @property
    def variables(self):
        """Keras order: iteration, learning_rate, then the slots of each variable in turn."""
        out = [Variable(self.iterations, trainable=False, name="iteration", dtype="int64"),
               Variable(self.learning_rate, trainable=False, name="learning_rate")]
        for v in self._vars:
            out += self._slots[id(v)]
        return out

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        for v in var_list or []:
            self._no_decay.add(id(v))
        self._no_decay_names = list(var_names or [])

    # --- the update ----------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            return self.iterations
        grads = [g._t for g, _ in pairs]
        variables = [v for _, v in pairs]
        key = tuple(id(v) for v in variables)
        if key != self._cache_key:  # the same variable list every step: prepare it once
            self.build(variables)
            names = getattr(self, "_no_decay_names", [])
            decay = [0.0 if (id(v) in self._no_decay or any(n in v.name for n in names)) else 1.0 for v in variables]
            slots = [[self._slots[id(v)][i]._t for v in variables] for i in range(len(self._active_slots()))]
            self._cache_key, self._cache = key, ([v._t for v in variables], slots, decay, variables)
        params, slots, decay, variables = self._cache
        self.iterations += 1
        lr = self._learning_rate(self.iterations - 1) if callable(self._learning_rate) else self._learning_rate
        options = {"clipvalue": self.clipvalue}
        if self.clipnorm is not None:
            c = self.clipnorm
            options["grad_scale"] = [c / max(n, c) if n > 0 else 1.0 for n in _core.l2_norms(grads)]
        elif self.global_clipnorm is not None:
            norm = _core.global_norm(grads)
            options["grad_scale"] = min(1.0, self.global_clipnorm / norm) if norm > 0 else 1.0
        if self.weight_decay:
            options["weight_decay"] = [self.weight_decay * d for d in decay]
        self._update(params, grads, slots, float(lr), options)
        for v in variables:
            if getattr(v, "constraint", None) is not None:
                v.assign(v.constraint(v))
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        return self.apply_gradients(zip(grads, trainable_variables))

    def _update(self, params, grads, slots, lr, options):
        raise NotImplementedError

    # --- config -----------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        return {"name": self.name, "learning_rate": schedules.serialize(lr) if isinstance(lr, LearningRateSchedule)
                else float(lr), "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, "use_ema": False,
                "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                "gradient_accumulation_steps": None}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        for k in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                  "gradient_accumulation_steps", "is_legacy_optimizer"):
            config.pop(k, None)
        return cls(**config)


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _active_slots(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, params, grads, slots, lr, options):
        _core.sgd_update(params, grads, slots[0] if slots else None, lr, self.momentum, self.nesterov, **options)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _active_slots(self):
        return ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def _update(self, params, grads, slots, lr, options):
        _core.adam_update(params, grads, slots[0], slots[1], slots[2] if self.amsgrad else None, lr, self.beta_1,
                          self.beta_2, self.epsilon, self.iterations, **options)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (p -= p * weight_decay * lr before each step)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _active_slots(self):
        return ("velocity",) + (("momentum",) if self.momentum else ()) + (("average_gradient",) if self.centered else ())

    def _update(self, params, grads, slots, lr, options):
        mom = slots[1] if self.momentum else None
        avg = slots[-1] if self.centered else None
        _core.rmsprop_update(params, grads, slots[0], mom, avg, lr, self.rho, self.momentum, self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _slot_init(self, name, var):
        from .._tensor import fill

        return fill(var.shape, float(self.initial_accumulator_value), var.dtype)

    def _update(self, params, grads, slots, lr, options):
        _core.adagrad_update(params, grads, slots[0], lr, self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _update(self, params, grads, slots, lr, options):
        _core.adadelta_update(params, grads, slots[0], slots[1], lr, self.rho, self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Nadam(Optimizer):
    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = 1.0  # Keras' running momentum-cache product

    def _update(self, params, grads, slots, lr, options):
        self.u_product = _core.nadam_update(params, grads, slots[0], slots[1], lr, self.beta_1, self.beta_2,
                                            self.epsilon, self.iterations, self.u_product, **options)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_TABLE = {c.__name__: c for c in [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam]}
_TABLE.update(sgd=SGD, adam=Adam, adamw=AdamW, rmsprop=RMSprop, adagrad=Adagrad, adadelta=Adadelta, nadam=Nadam)


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    return _registry.get(identifier, _TABLE, "optimizer")


def serialize(optimizer):
    return _registry.serialize(optimizer, "keras.optimizers")


