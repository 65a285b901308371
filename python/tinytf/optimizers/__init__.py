"""Optimizers with Keras 3's names, defaults, update rules and state layout.
Each step is a single fused C++ call over all variables (csrc/kernels/optim.cpp);
clipnorm / clipvalue / global_clipnorm and weight decay are folded into it."""
import numbers
import re
import warnings

import numpy as np

from .. import _core, _registry
from .._tensor import Variable, convert_to_tensor, fill
from . import schedules
from .schedules import LearningRateSchedule


class Optimizer:
    """Base class: ``apply_gradients(zip(grads, vars))`` updates variables in place.

    State follows Keras' ``optimizer.variables`` order (``get_weights`` /
    ``set_weights`` / ``save_own_variables`` / ``load_own_variables``):
    iteration, learning_rate (absent when it is a schedule or a callable), the
    slot variables, then any scalar state a subclass keeps after them.
    """

    _default_name = None

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"{cls}: argument(s) not recognized: {sorted(kwargs)}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        for arg, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm),
                       ("weight_decay", weight_decay)):
            if v is not None and (not isinstance(v, numbers.Real) or v < 0):
                raise ValueError(f"{cls}: {arg} must be a non-negative float or None, got {v!r}")
        for arg, v, default in (("use_ema", use_ema, False), ("loss_scale_factor", loss_scale_factor, None),
                                ("gradient_accumulation_steps", gradient_accumulation_steps, None)):
            if v != default:
                raise NotImplementedError(f"{cls}: {arg}={v!r} is not supported yet")
        _check_lr(cls, learning_rate)
        self.name = name or self._default_name
        self._learning_rate = float(learning_rate) if isinstance(learning_rate, numbers.Real) else learning_rate
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = (weight_decay, clipnorm, clipvalue,
                                                                                    global_clipnorm)
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = use_ema, ema_momentum, ema_overwrite_frequency
        self.loss_scale_factor, self.gradient_accumulation_steps = loss_scale_factor, gradient_accumulation_steps
        self.iterations = 0
        self.built = False
        self._vars = []  # variables in the order the optimizer was built on
        self._slots = {}  # id(variable) -> {slot name: slot Variable}
        self._no_decay_ids, self._no_decay_pattern = set(), None
        self._cache_key, self._cache = None, None

    # --- learning rate -------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The rate the next step uses (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        _check_lr(type(self).__name__, value)
        if isinstance(value, numbers.Real):
            if isinstance(self._learning_rate, LearningRateSchedule):
                raise TypeError("This optimizer was created with a LearningRateSchedule as its learning_rate, hence "
                                "its learning rate is not settable. Create it with a float learning_rate instead.")
            value = float(value)
        self._learning_rate = value

    lr = learning_rate  # tf.keras 2 name

    # --- slots and state ----------------------------------------------------------------------------
    def _slot_groups(self):
        """Slot names in Keras' build order: one tuple per ``add_optimizer_variables``
        call; the names of one tuple are interleaved per variable."""
        return ()

    def _slot_init(self, name, var):
        return 0.0

    def build(self, var_list):
        """Creates the slots of variables not seen before (Keras builds on the first step)."""
        names = [n for group in self._slot_groups() for n in group]
        for v in var_list:
            if id(v) not in self._slots:
                prefix = v.path.replace("/", "_")
                self._slots[id(v)] = {n: Variable(fill(v.shape, self._slot_init(n, v), v.dtype), trainable=False,
                                                  name=f"{prefix}_{n}") for n in names}
                self._vars.append(v)
        self.built = True

    def _scalar_state(self):
        """Scalar state as (Keras name, attribute, dtype): the entries before the slots, and after them."""
        head = [("iteration", "iterations", np.int64)]
        if not callable(self._learning_rate):
            head.append(("learning_rate", "_learning_rate", np.float32))
        return head, []

    def _slot_variables(self):
        return [self._slots[id(v)][n] for group in self._slot_groups() for v in self._vars for n in group]

    @property
    def variables(self):
        """Keras' order. Slots are the live Variables; iteration, learning_rate and other
        scalars are copies (set them with ``set_weights`` or ``load_own_variables``)."""
        head, tail = self._scalar_state()

        def copies(entries):
            return [Variable(np.asarray(getattr(self, attr), dtype), trainable=False, name=name)
                    for name, attr, dtype in entries]

        return copies(head) + self._slot_variables() + copies(tail)

    def get_weights(self):
        """The full state as numpy arrays in ``variables`` order."""
        return [np.array(v) for v in self.variables]

    def set_weights(self, weights):
        """Restores ``get_weights()``; the optimizer must be built on the same variables first."""
        weights = list(weights)
        head, tail = self._scalar_state()
        slots = self._slot_variables()
        if len(weights) != len(head) + len(slots) + len(tail):
            hint = "" if self.built or not self._slot_groups() else \
                " (the optimizer is not built yet: call optimizer.build(model.trainable_weights) first)"
            raise ValueError(f"Optimizer '{self.name}': expected {len(head) + len(slots) + len(tail)} weights, "
                             f"got {len(weights)}{hint}")
        scalars = weights[:len(head)] + weights[len(head) + len(slots):]
        for (_, attr, dtype), w in zip(head + tail, scalars):
            setattr(self, attr, np.asarray(w, dtype).item())
        for v, w in zip(slots, weights[len(head):]):
            v.assign(np.asarray(w))

    def save_own_variables(self, store):
        """Keras' saving hook: store["0"], store["1"], ... in ``variables`` order."""
        for i, w in enumerate(self.get_weights()):
            store[str(i)] = w

    def load_own_variables(self, store):
        """Keras' loading hook: warns and skips when the number of variables differs."""
        expected = len(self.variables)
        if len(store.keys()) != expected:
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it has {expected} "
                          f"variables whereas the saved optimizer has {len(store.keys())} variables.", stacklevel=2)
            return
        self.set_weights([store[str(i)] for i in range(expected)])

    # --- weight decay --------------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables in var_list, or whose name matches one of var_names (regex search), get no weight decay."""
        self._no_decay_ids = {id(v) for v in var_list or []}
        self._no_decay_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._cache_key = None

    def _decays(self, var):
        excluded = id(var) in self._no_decay_ids or (self._no_decay_pattern is not None and
                                                      self._no_decay_pattern.search(var.name) is not None)
        return not excluded

    # --- the update ----------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """One step. Without trainable_variables, grads follow the variables the optimizer was built on."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None and not self.built:
            raise ValueError("When passing grads without variables, the optimizer must already be built: "
                             "call optimizer.build(trainable_variables) first")
        variables = self._vars if trainable_variables is None else trainable_variables
        # training passes the same variables (and the same missing gradients) every step: plan once
        key = (tuple(map(id, variables)), tuple(g is None for g in grads))
        if key != self._cache_key:
            self._cache_key, self._cache = key, self._plan(list(variables), grads)
        params, slots, decay, missing, constrained = self._cache
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.", stacklevel=2)
        grads = [convert_to_tensor(g)._t for g in grads if g is not None]
        options = {"clipvalue": self.clipvalue or None}
        if self.clipnorm:
            c = self.clipnorm
            options["grad_scale"] = [c / max(n, c) for n in _core.l2_norms(grads)]
        elif self.global_clipnorm:
            norm = _core.global_norm(grads)
            options["grad_scale"] = min(1.0, self.global_clipnorm / norm) if norm > 0 else 1.0
        if self.weight_decay:
            options["weight_decay"] = [self.weight_decay * d for d in decay]
        # the rate of the step before it is counted; step is Keras' 1-based local_step
        self._update(params, grads, slots, self.learning_rate, self.iterations + 1, options)
        self.iterations += 1
        for v in constrained:
            v.assign(v.constraint(v))

    def _plan(self, variables, grads):
        """What a step over these variables needs: the kernel's tensor lists for those
        with a gradient, their weight-decay factors, the names of those without one, and
        the variables with a constraint."""
        if len(grads) != len(variables):
            raise ValueError(f"Optimizer '{self.name}': got {len(grads)} gradients for {len(variables)} variables")
        self.build(variables)  # on every variable, as Keras, even those without a gradient now
        used = [v for g, v in zip(grads, variables) if g is not None]
        if not used:
            raise ValueError("No gradients provided for any variable.")
        names = [n for group in self._slot_groups() for n in group]
        slots = {n: [self._slots[id(v)][n]._t for v in used] for n in names}
        decay = [1.0 if self._decays(v) else 0.0 for v in used]
        missing = [v.path for g, v in zip(grads, variables) if g is None]
        constrained = [v for v in used if getattr(v, "constraint", None) is not None]
        return [v._t for v in used], slots, decay, missing, constrained

    def _update(self, params, grads, slots, lr, step, options):
        """Runs the fused kernel: slots maps each slot name to one tensor per param."""
        raise NotImplementedError

    # --- config ----------------------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        return {"name": self.name,
                "learning_rate": schedules.serialize(lr) if isinstance(lr, LearningRateSchedule) else lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)


def _check_lr(owner, lr):
    if callable(lr):
        return
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not lr >= 0:
        raise ValueError(f"{owner}: learning_rate must be a non-negative float, a LearningRateSchedule or a "
                         f"callable, got {lr!r}")


class SGD(Optimizer):
    _default_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be a float in [0, 1], got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _slot_groups(self):
        return (("momentum",),) if self.momentum else ()

    def _update(self, params, grads, slots, lr, step, options):
        _core.sgd_update(params, grads, slots.get("momentum"), lr, self.momentum, self.nesterov, **options)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _slot_groups(self):
        return (("momentum", "velocity"),) + ((("velocity_hat",),) if self.amsgrad else ())

    def _update(self, params, grads, slots, lr, step, options):
        _core.adam_update(params, grads, slots["momentum"], slots["velocity"], slots.get("velocity_hat"), lr,
                          self.beta_1, self.beta_2, self.epsilon, step, **options)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (p -= p * weight_decay * lr before each step)."""

    _default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument weight_decay must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    _default_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _slot_groups(self):
        return ((("velocity",),) + ((("momentum",),) if self.momentum > 0 else ()) +
                ((("average_gradient",),) if self.centered else ()))

    def _update(self, params, grads, slots, lr, step, options):
        _core.rmsprop_update(params, grads, slots["velocity"], slots.get("momentum"), slots.get("average_gradient"),
                             lr, self.rho, self.momentum, self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    _default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _slot_groups(self):
        return (("accumulator",),)

    def _slot_init(self, name, var):
        return float(self.initial_accumulator_value)

    def _update(self, params, grads, slots, lr, step, options):
        _core.adagrad_update(params, grads, slots["accumulator"], lr, self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    _default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _slot_groups(self):
        return (("accumulated_grad", "accumulated_delta_var"),)

    def _update(self, params, grads, slots, lr, step, options):
        _core.adadelta_update(params, grads, slots["accumulated_grad"], slots["accumulated_delta_var"], lr, self.rho,
                              self.epsilon, **options)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Nadam(Optimizer):
    _default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = 1.0  # Keras' running product of the momentum cache, a variable after the slots

    def _slot_groups(self):
        return (("momentum", "velocity"),)

    def _scalar_state(self):
        head, tail = super()._scalar_state()
        return head, tail + [("u_product", "u_product", np.float32)]

    def _update(self, params, grads, slots, lr, step, options):
        self.u_product = _core.nadam_update(params, grads, slots["momentum"], slots["velocity"], lr, self.beta_1,
                                            self.beta_2, self.epsilon, step, self.u_product, **options)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_TABLE = {c.__name__: c for c in [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam]}
_TABLE.update(sgd=SGD, adam=Adam, adamw=AdamW, rmsprop=RMSprop, adagrad=Adagrad, adadelta=Adadelta, nadam=Nadam)


def get(identifier):
    """An optimizer from a name ('adam'), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    return _registry.get(identifier, _TABLE, "optimizer")


def serialize(optimizer):
    return _registry.serialize(optimizer, "keras.optimizers")


def deserialize(config):
    return _registry.get(config, _TABLE, "optimizer")
