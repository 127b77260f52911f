"""`Trainer`: the one `train_step` that every trainer of the package runs.

A trainer is a `keras.Model` with one or more *players*: groups of layers,
each with its own optimizer, its own loss and, optionally, a schedule (a
MoCo has one player; InfoMin's view game two, the encoders and the view
generator; Tschannen et al.'s adversarial encoder two that take turns). A
subclass says what a batch costs each player (`compute_terms`) and who
the players are (`players`); the base class does the rest, once:

- one forward pass under one tape; each player's loss plus the
  regularisation losses (`layer.losses`) of *its* layers is differentiated
  with respect to *its* variables only (the first player also owns the
  layers no other player claims);
- the loss is divided by the replica count once (`distribute.scale_loss`)
  and by the optimizer's loss scale under `mixed_float16`;
- a player with a schedule (`due`) updates through `distribute.apply_if`
  (with one replica its backward pass only runs on the steps it updates);
- hooks before the forward pass and after the updates (`begin_step`,
  `end_step`: MoCo's momentum encoder and queue);
- Keras' contract: `compile(loss=...)` sets the objective of trainers that
  have one and is refused by the others, compiled `metrics` are updated
  with `(labels, predictions)` of the step and appear in `History`,
  `sample_weight` (and `class_weight`) is refused with a clear error, the
  logs are means over the steps that count (a batch too small for the
  bound has weight 0).

Keras' own `train_step` / `compute_loss` split is the model: a subclass
overrides `compute_terms` as a Keras model overrides `compute_loss`.
"""

import collections
import inspect

import keras
import tensorflow as tf
from keras import ops

from keras_infomin import distribute
from keras_infomin import losses as losses_module
from keras_infomin.models import base

Player = collections.namedtuple(
    "Player",
    ["name", "optimizer", "layers", "due", "log"],
    defaults=(None,) * 3,
)
Player.__doc__ = """One player of a trainer.

Fields:
    name: the key of its loss in `Terms.losses`.
    optimizer: its optimizer (built over its variables only).
    layers: the layers it trains (`None`: every layer of the model that no
        other player lists); their regularisation losses are its own.
    due: `None` (updates every step) or a function of no arguments
        returning a boolean tensor, read before any update of the step.
    log: the log key of its loss (with its regularisers), or `None`.
"""

Terms = collections.namedtuple(
    "Terms",
    ["losses", "logs", "weight", "labels", "predictions", "state"],
    defaults=({}, 1.0, None, None, None),
)
Terms.__doc__ = """What one batch costs the players, and what it logs.

Fields:
    losses: dict `player name -> scalar loss` (without regularisers).
    logs: dict `name -> scalar`, averaged over the steps that count.
    weight: 1.0 if the step counts in the logs, 0.0 if it does not.
    labels, predictions: what compiled metrics read (`None`: no update).
    state: anything `end_step` needs (MoCo's keys).
"""


def objective_attribute(name):
    """A read-only property: `self.objective.<name>`."""
    return property(
        lambda self: getattr(self.objective, name),
        doc=f"`objective.{name}` (see `losses.Objective`).",
    )


def unique_variables(layers):
    """The trainable variables of `layers`, each once, in order."""
    seen, variables = set(), []
    for layer in layers:
        for variable in layer.trainable_variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


def _sum(values):
    values = [ops.cast(ops.sum(v), "float32") for v in values]
    if not values:
        return ops.zeros((), "float32")
    return ops.sum(ops.stack(values))


class Trainer(keras.Model):
    """Base class of the trainers (see the module docstring).

    Subclasses set `OPTIMIZERS` (compile argument name -> default; the
    first is `model.optimizer`), implement `players()`, `compute_terms`,
    `input_shape_of(data)` and `build`, and create their log trackers with
    `track_logs`. The MI trainers hold a `losses.Objective` in
    `self.objective`, which `compile(loss=...)` configures.
    """

    OPTIMIZERS = {"optimizer": "rmsprop"}
    # Whether `compile(optimizer=...)` may name the first player's optimizer
    # when its argument has another name.
    OPTIMIZER_ALIAS = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._log_trackers = {}

    # ------------------------------------------------------- subclass API
    def players(self):
        """The players, the first one `model.optimizer`'s (see `Player`)."""
        return [Player("model", self.optimizer, log="loss")]

    def compute_terms(self, data, training):
        """The `Terms` of a batch (the forward pass)."""
        raise NotImplementedError

    def input_shape_of(self, data):
        """The shape to `build` with, from a batch given to `fit`."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return (None,) + tuple(x.shape[1:])

    def metric_specs(self):
        """`(labels, predictions)` specs that compiled metrics are built on."""
        return (
            keras.KerasTensor((None,), "int32"),
            keras.KerasTensor((None, None), "float32"),
        )

    def begin_step(self, data):
        """Runs at the start of `train_step`, before the forward pass."""

    def end_step(self, terms):
        """Runs at the end of `train_step`, after every update."""

    def status_logs(self):
        """Logs that are states rather than means (e.g. step counters)."""
        return {}

    def track_logs(self, *names):
        """Creates the mean trackers of these logs (`loss` is Keras')."""
        for name in names:
            if name != "loss":
                self._log_trackers[name] = keras.metrics.Mean(name=name)

    # ------------------------------------------------------------- compile
    def compile(
        self,
        optimizer=None,
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        auto_scale_loss=True,
        **kwargs,
    ):
        """Configures the players' optimizers, the objective and metrics.

        Args:
            optimizer: the first player's optimizer (`model.optimizer`); for
                trainers whose optimizers have other names (e.g.
                `encoder_optimizer`), an alias of the first.
            loss: for trainers with an MI objective, a loss of
                `keras_infomin.losses` on a bound (or its name): the
                trainer then trains that bound (and its target); `None`
                keeps the constructor's. Other trainers refuse it.
            metrics: Keras metrics, updated with the step's
                `(labels, predictions)` (for the MI trainers: the positive
                column of each row and the score rows, so `"accuracy"` is
                the contrastive top-1 accuracy and `metrics.MutualInformation`
                reads any bound from the same scores).
            **kwargs: the players' optimizers by name (see `OPTIMIZERS`)
                and `keras.Model.compile`'s other arguments.
        """
        names = list(self.OPTIMIZERS)
        chosen = {name: kwargs.pop(name) for name in names if name in kwargs}
        if optimizer is not None:
            if names[0] != "optimizer" and not self.OPTIMIZER_ALIAS:
                raise ValueError(
                    f"{type(self).__name__}.compile takes "
                    f"{' and '.join(f'`{n}`' for n in names)}, one optimizer "
                    "per player; received `optimizer`."
                )
            if names[0] in chosen and names[0] != "optimizer":
                raise ValueError(f"Pass `optimizer` or `{names[0]}`, not both.")
            chosen[names[0]] = optimizer
        for name, default in self.OPTIMIZERS.items():
            value = chosen.get(name)
            if value is None:
                value = default() if callable(default) else default
            chosen[name] = keras.optimizers.get(value)
        if len({id(o) for o in chosen.values()}) != len(chosen):
            raise ValueError(
                f"{', '.join(f'`{n}`' for n in names)} must be distinct "
                "optimizer instances (each keeps its own player's state); "
                "received the same object twice."
            )
        for name, value in (
            ("loss_weights", loss_weights),
            ("weighted_metrics", weighted_metrics),
        ):
            if value is not None:
                raise ValueError(
                    f"{type(self).__name__} trains a batch-level objective "
                    f"with one loss per player; `{name}` does not apply."
                )
        self.set_loss(loss)
        scale = auto_scale_loss and self.dtype_policy.name == "mixed_float16"
        for name in names[1:]:
            if scale and not isinstance(
                chosen[name], keras.optimizers.LossScaleOptimizer
            ):
                chosen[name] = keras.optimizers.LossScaleOptimizer(
                    chosen[name], name=f"{name}_loss_scale"
                )
        super().compile(
            optimizer=chosen[names[0]],
            metrics=metrics,
            auto_scale_loss=auto_scale_loss,
            **kwargs,
        )
        for name in names[1:]:
            setattr(self, name, chosen[name])
        if not any(p.log == "loss" for p in self.players()):
            self._loss_tracker = None  # this trainer logs no `loss`
        if self._compile_metrics is not None:
            self._compile_metrics.build(*self.metric_specs())
        if self.built:
            self.build_optimizers()

    def set_loss(self, loss):
        """`compile(loss=...)`: configures `self.objective`, or refuses."""
        if loss is None:
            return
        objective = getattr(self, "objective", None)
        if objective is None:
            raise ValueError(
                f"{type(self).__name__}'s losses are fixed by its game; "
                f"`compile` takes no `loss` (received {loss!r})."
            )
        try:
            given = losses_module.get(loss)
        except ValueError:
            given = None
        if not isinstance(given, losses_module.MutualInformationLoss):
            raise ValueError(
                f"{type(self).__name__} trains an MI bound: `loss` must be a "
                "loss of keras_infomin.losses on a bound (e.g. "
                "losses.NWJ(), losses.InfoNCE(target=2.0)) or its name, or "
                f"None to keep the constructor's bound; received {loss!r}."
            )
        spec = given.objective
        if spec.temperature != 1.0 or spec.cosine or spec.symmetric:
            raise ValueError(
                "The critic, its temperature and `symmetric` belong to the "
                f"model ({type(self).__name__}(critic=..., temperature=..., "
                "symmetric=...)); the compiled loss gives the bound and its "
                f"target only. Received {loss!r} with temperature="
                f"{spec.temperature}, cosine={spec.cosine}, symmetric="
                f"{spec.symmetric}."
            )
        objective.configure(spec.bound, spec.bound_kwargs, spec.target)

    # -------------------------------------------------------------- config
    def config_of(self, **values):
        """`get_config` with these constructor arguments (layers serialised).

        A trainer with an objective also saves its bound, the bound's
        arguments and its target, so a bound set by `compile(loss=...)`
        survives `save` and `load_model`.
        """
        config = keras.Model.get_config(self)
        objective = getattr(self, "objective", None)
        if objective is not None:
            values.setdefault("bound", objective.bound)
            values.setdefault("bound_kwargs", dict(objective.bound_kwargs))
            values.setdefault("target", objective.target)
        config.update({k: base.serialize(v) for k, v in values.items()})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**{k: base.deserialize(v) for k, v in config.items()})

    # The MI trainers' settings, read from their objective.
    critic = objective_attribute("critic")
    bound = objective_attribute("bound")
    bound_kwargs = objective_attribute("bound_kwargs")
    target = objective_attribute("target")

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            for name in list(self.OPTIMIZERS)[1:]:
                config[name] = keras.saving.serialize_keras_object(
                    getattr(self, name)
                )
        return config

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(dict(config))
        first = list(self.OPTIMIZERS)[0]
        if "optimizer" in config and first != "optimizer":
            config[first] = config.pop("optimizer")
        self.compile(**config)

    # --------------------------------------------------------------- build
    def build_optimizers(self):
        """Builds every player's optimizer over its own variables."""
        if not getattr(self, "compiled", False) or not self.built:
            return
        pairs = [
            (player.optimizer, self.player_variables(player))
            for player in self.players()
        ]
        with tf.init_scope():
            distribute.build_optimizers(
                self, *[(o, v) for o, v in pairs if v or o.built]
            )

    def make_train_function(self, force=False):
        self.build_optimizers()
        return super().make_train_function(force=force)

    def ensure_built(self, data):
        if not self.built:
            self.build(self.input_shape_of(data))

    def player_variables(self, player):
        """The trainable variables a player updates."""
        if player.layers is not None:
            return unique_variables(player.layers)
        claimed = {
            id(v)
            for other in self.players()
            if other.layers is not None
            for v in unique_variables(other.layers)
        }
        return [v for v in self.trainable_variables if id(v) not in claimed]

    # ---------------------------------------------------------------- step
    def _refuse_weights(self, method, args, kwargs):
        bound = inspect.signature(method).bind_partial(*args, **kwargs)
        given = [
            name
            for name in ("sample_weight", "class_weight")
            if bound.arguments.get(name) is not None
        ]
        if given:
            self._weights_error(given[0])

    def _weights_error(self, name):
        raise ValueError(
            f"{type(self).__name__} trains a batch-level objective: every "
            "example counts once, and it takes no `sample_weight` or "
            f"`class_weight`; received `{name}`."
        )

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`. Every player's optimizer with a moving
        average (`use_ema=True`) writes it into that player's variables
        when training ends, before the callbacks' `on_train_end` (as
        Keras' `fit` does for a one-player model's optimizer)."""
        self._refuse_weights(keras.Model.fit, (self, *args), kwargs)
        players = self.players()
        if len(players) > 1 and _uses_ema(players[0].optimizer):
            raise ValueError(
                f"{type(self).__name__}: `use_ema=True` on the first "
                f"player's optimizer ({players[0].name}, `model.optimizer`) "
                "is not supported: Keras' `fit` would write its averages "
                "over every player's variables. Average the other players "
                f"({', '.join(p.name for p in players[1:])}) through their "
                "optimizers' `use_ema`, or the first player's weights with "
                "a callback."
            )
        if any(_uses_ema(p.optimizer) for p in players[1:]):
            bound = inspect.signature(keras.Model.fit).bind(
                self, *args, **kwargs
            )
            arguments = dict(bound.arguments)
            arguments.pop("self")
            writer = _WriteAverages()
            given = arguments.get("callbacks")
            if not isinstance(given, keras.callbacks.CallbackList):
                arguments["callbacks"] = [writer] + list(given or [])
                return super().fit(**arguments)
            # A CallbackList is used as given: the writer joins it for
            # this call only.
            writer.set_model(self)
            given.callbacks.insert(0, writer)
            try:
                return super().fit(**arguments)
            finally:
                given.callbacks.remove(writer)
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        self._refuse_weights(keras.Model.evaluate, (self, *args), kwargs)
        return super().evaluate(*args, **kwargs)

    def _refuse_sample_weight(self, data):
        if isinstance(data, (tuple, list)) and len(data) == 3:
            _, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            if sample_weight is not None:
                self._weights_error("sample_weight")

    def _totals(self, players, terms):
        """Each player's loss plus the regularisers of its own layers."""
        totals, others = {}, []
        for player in players[1:]:
            regularisers = _sum(
                loss for layer in player.layers for loss in layer.losses
            )
            totals[player.name] = terms.losses[player.name] + regularisers
            others.append(regularisers)
        main = players[0]
        own = _sum(self.losses) - _sum(others)
        totals[main.name] = terms.losses[main.name] + own
        return totals

    def _scaled(self, player, loss):
        return player.optimizer.scale_loss(distribute.scale_loss(loss))

    def _update(self, data, names=None, scheduled=True):
        """One forward pass, then the updates of the named players."""
        players = self.players()
        active = [p for p in players if names is None or p.name in names]
        dues = [p.due() if scheduled and p.due else None for p in active]
        with tf.GradientTape(persistent=len(active) > 1) as tape:
            terms = self.compute_terms(data, training=True)
            totals = self._totals(players, terms)
            scaled = [self._scaled(p, totals[p.name]) for p in active]
        for player, due, loss in zip(active, dues, scaled):
            variables = self.player_variables(player)
            if not variables:
                continue
            if due is None:
                grads = tape.gradient(loss, variables)
                player.optimizer.apply(grads, variables)
            else:

                def gradients(loss=loss, variables=variables):
                    return tape.gradient(loss, variables)

                distribute.apply_if(player.optimizer, gradients, variables, due)
        return players, terms, totals

    def step_players(self, data, names):
        """One step of the named players, now (schedules ignored).

        Returns the step's `Terms`; nothing is logged.
        """
        return self._update(data, names, scheduled=False)[1]

    def train_step(self, data):
        self._refuse_sample_weight(data)
        self.ensure_built(data)
        self.begin_step(data)
        players, terms, totals = self._update(data)
        self.end_step(terms)
        return self._report(players, terms, totals)

    def test_step(self, data):
        self._refuse_sample_weight(data)
        self.ensure_built(data)
        terms = self.compute_terms(data, training=False)
        players = self.players()
        return self._report(players, terms, self._totals(players, terms))

    def _report(self, players, terms, totals):
        weight = ops.cast(terms.weight, "float32")
        logs = {p.log: totals[p.name] for p in players if p.log}
        logs.update(terms.logs)
        for name, value in logs.items():
            tracker = (
                self._loss_tracker
                if name == "loss"
                else self._log_trackers[name]
            )
            tracker.update_state(value, sample_weight=weight)
        if self._compile_metrics is not None and terms.predictions is not None:

            def update():
                self._compile_metrics.update_state(
                    terms.labels, terms.predictions
                )
                return ops.ones((), "bool")

            ops.cond(weight > 0, update, lambda: ops.zeros((), "bool"))
        results = self.get_metrics_result()
        results.update(self.status_logs())
        return distribute.reducible_logs(results)


class _WriteAverages(keras.callbacks.Callback):
    """Writes each further player's moving average into its variables at
    the end of training (`Trainer.fit`), ahead of the other callbacks."""

    def on_train_end(self, logs=None):
        model = self.model
        for player in model.players()[1:]:
            if _uses_ema(player.optimizer) and _inner(player.optimizer).built:
                player.optimizer.finalize_variable_values(
                    model.player_variables(player)
                )


def _inner(optimizer):
    """The optimizer a loss-scale wrapper holds, or `optimizer` itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _uses_ema(optimizer):
    """Whether `optimizer` (or the one a loss-scale wrapper holds) keeps a
    moving average of its variables."""
    return bool(getattr(_inner(optimizer), "use_ema", False))
