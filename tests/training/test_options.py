"""The losses, optimizers and learning-rate schedules beyond plain SGD: each is PyTorch's own, exactly.

Every check builds a small design with ``designer.graph`` and ``compile_graph`` and compares what
``train()`` did with what the torch function, optimizer or scheduler does when built by hand.
"""
import copy
import json
import math
import zipfile

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from designer.compiler import compile_graph
from designer.data import load_dataset
from designer.graph import Graph, Layer
from designer.project import DEFAULT_TRAINING, Project, read_project, write_project
from designer.training import Control, TrainingConfig, TrainingError, train, train_project
from designer.training.objectives import choose_objective, is_penalized, penalized_parameters

schedulers = torch.optim.lr_scheduler


def _graph(outputs=1, activation="sigmoid", hidden=4):
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h", "neurons", (hidden,), activation="tanh", position=(220, 0)))
    graph.add_layer(Layer("out", "neurons", (outputs,), activation=activation, position=(440, 0)))
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "out", connection_id="h-out")
    return graph


def _design(outputs=1, activation="sigmoid", hidden=4, seed=0):
    return compile_graph(_graph(outputs, activation, hidden), seed=seed)


@pytest.fixture(scope="module")
def xor():
    return load_dataset({"kind": "builtin", "name": "xor", "samples": 100, "seed": 1})


@pytest.fixture(scope="module")
def xor_no_validation():
    return load_dataset({"kind": "builtin", "name": "xor", "samples": 100, "seed": 1, "validation_split": 0})


@pytest.fixture(scope="module")
def plane():
    return load_dataset({"kind": "builtin", "name": "plane", "samples": 100, "seed": 1})


def _weights(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same_weights(module, expected, atol=1e-6):
    for name, value in _weights(expected).items():
        torch.testing.assert_close(module.state_dict()[name], value, atol=atol, rtol=1e-5)


# ------------------------------------------------------------------------------------------ losses
@pytest.mark.parametrize("loss, settings, outputs, activation, data, twin", [
    ("mse", {}, 1, "linear", "plane", lambda o, t: F.mse_loss(o, t)),
    ("mae", {}, 1, "linear", "plane", lambda o, t: F.l1_loss(o, t)),
    ("huber", {"huber_delta": 0.3}, 1, "linear", "plane", lambda o, t: F.huber_loss(o, t, delta=0.3)),
    ("huber", {}, 1, "linear", "plane", lambda o, t: F.huber_loss(o, t, delta=1.0)),
    ("cross_entropy", {"label_smoothing": 0.2}, 2, "softmax", "xor",
     lambda o, t: F.cross_entropy(o, t, label_smoothing=0.2)),
    ("auto", {"label_smoothing": 0.1}, 2, "softmax", "xor", lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1)),
    ("bce", {}, 1, "sigmoid", "xor", lambda o, t: F.binary_cross_entropy_with_logits(o, t)),
    # mae and huber on classes: on the outputs, against the class (one unit) or the one-hot row (several)
    ("mae", {}, 1, "sigmoid", "xor", lambda o, t: F.l1_loss(o, t)),
    ("huber", {"huber_delta": 0.5}, 2, "softmax", "xor", lambda o, t: F.huber_loss(o, t, delta=0.5)),
])
def test_each_loss_is_its_torch_twin(request, loss, settings, outputs, activation, data, twin):
    dataset = request.getfixturevalue(data)
    module = _design(outputs, activation)
    objective = choose_objective(loss, module, dataset, **settings)
    assert objective.on_logits == (objective.loss in ("cross_entropy", "bce"))
    x = dataset.x_train
    targets = objective.targets(dataset.y_train, int(dataset.num_classes or 0))
    if objective.loss in ("mae", "huber", "mse") and dataset.task == "classification":
        assert objective.threshold == 0.5 or objective.one_hot
        if outputs > 1:
            torch.testing.assert_close(targets, F.one_hot(dataset.y_train.long(), outputs).float())
    with torch.no_grad():
        outputs_ = module.logits(x) if objective.on_logits else module(x)
        torch.testing.assert_close(objective(outputs_, targets), twin(outputs_, targets), rtol=0, atol=0)
        # on random values too (a Huber delta matters only where errors pass it)
        noisy = outputs_ + 3 * torch.randn(outputs_.shape, generator=torch.Generator().manual_seed(2))
        torch.testing.assert_close(objective(noisy, targets), twin(noisy, targets), rtol=0, atol=0)
    # and train() reports it: one batch of all the data, so epoch 1's loss is the loss at the start
    expected = twin(outputs_, targets).item()
    run = train(module, dataset, {"loss": loss, **settings, "batch_size": len(x), "epochs": 1, "device": "cpu"})
    assert run.train_loss[0] == pytest.approx(expected, rel=1e-6)


def test_mae_and_huber_train_a_classifier_and_score_it(xor):
    for loss in ("mae", "huber"):
        run = train(_design(2, "softmax", hidden=8), xor, {"loss": loss, "optimizer": "adam", "learning_rate": 0.05,
                                                          "epochs": 40, "device": "cpu"})
        assert run.loss == loss and run.status == "completed"
        assert run.val_accuracy[-1] >= 0.8, loss


@pytest.mark.parametrize("loss, outputs, activation, data, fix", [
    ("bce", 1, "sigmoid", "xor", "set label_smoothing to 0"),
    ("auto", 1, "sigmoid", "xor", "loss 'auto' chose it"),
    ("mse", 2, "softmax", "xor", "or loss to 'cross_entropy'"),
    ("huber", 1, "linear", "plane", "set label_smoothing to 0"),
    ("auto", 1, "linear", "plane", "'mse'"),
])
def test_label_smoothing_with_a_loss_other_than_cross_entropy_is_refused(request, loss, outputs, activation,
                                                                        data, fix):
    with pytest.raises(TrainingError) as caught:
        train(_design(outputs, activation), request.getfixturevalue(data),
              {"loss": loss, "label_smoothing": 0.1, "epochs": 1, "device": "cpu"})
    message = str(caught.value)
    assert message.startswith("training: label_smoothing 0.1 applies to the cross_entropy loss only")
    assert fix in message


def test_regression_takes_mae_and_huber_and_refuses_class_losses(plane):
    assert choose_objective("mae", _design(1, "linear"), plane).loss == "mae"
    with pytest.raises(TrainingError, match="use 'mse', 'mae', 'huber' or 'auto'"):
        choose_objective("cross_entropy", _design(1, "linear"), plane)


# ------------------------------------------------------------------------------------------ optimizers
@pytest.mark.parametrize("settings, build", [
    ({"optimizer": "sgd", "learning_rate": 0.3, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
     lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ({"optimizer": "sgd", "learning_rate": 0.3, "weight_decay": 0.05},
     lambda p: torch.optim.SGD(p, lr=0.3, weight_decay=0.05)),
    ({"optimizer": "adam", "learning_rate": 0.01, "weight_decay": 0.01},
     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ({"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.1},
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    ({"optimizer": "adamw", "learning_rate": 0.01},
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.0)),
    ({"optimizer": "rmsprop", "learning_rate": 0.01, "momentum": 0.5, "weight_decay": 0.01},
     lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, weight_decay=0.01)),
])
def test_each_optimizer_steps_as_the_torch_optimizer_built_by_hand(xor, settings, build):
    module = _design()
    expected = copy.deepcopy(module)
    n = len(xor.x_train)
    batches = []
    # one batch of all the data per epoch: three epochs are three steps, so momentum and moments matter
    run = train(module, xor, {**settings, "batch_size": n, "epochs": 3, "device": "cpu"}, on_batch=batches.append)
    assert run.status == "completed"
    optimizer = build([p for p in expected.parameters() if p.requires_grad])
    y = xor.y_train.float().reshape(-1, 1)
    losses = []
    expected.train()
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(expected.logits(xor.x_train), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    _assert_same_weights(module, expected)
    assert run.train_loss == pytest.approx(losses, rel=1e-6)
    assert [b.learning_rate for b in batches] == [settings["learning_rate"]] * 3
    assert run.learning_rate == [settings["learning_rate"]] * 3


def test_nesterov_without_momentum_is_refused_with_the_fix():
    with pytest.raises(TrainingError) as caught:
        TrainingConfig.from_dict({"optimizer": "sgd", "nesterov": True})
    message = str(caught.value)
    assert message.startswith("training: nesterov") and "momentum" in message and "0.9" in message
    assert "nesterov to false" in message
    # other optimizers ignore nesterov, as adam ignores momentum
    assert TrainingConfig.from_dict({"optimizer": "adam", "nesterov": True}).nesterov is True


def test_control_refuses_momentum_for_adamw_and_momentum_0_under_nesterov(xor):
    control = Control()
    control.attach("adamw")
    with pytest.raises(TrainingError, match="adamw keeps its own running averages"):
        control.update(momentum=0.5)
    control.attach("rmsprop")
    control.update(momentum=0.5)
    control.attach("sgd", nesterov=True)
    with pytest.raises(TrainingError, match="nesterov"):
        control.update(momentum=0.0)
    control.update(momentum=0.8)


def test_rmsprop_takes_a_momentum_switched_on_while_training(xor):
    module = _design()
    control = Control()

    def on_epoch(stats):
        if stats.epoch == 1:
            control.update(momentum=0.9)

    run = train(module, xor, {"optimizer": "rmsprop", "learning_rate": 0.01, "epochs": 3, "device": "cpu"},
                control=control, on_epoch=on_epoch)
    assert run.status == "completed" and [c["name"] for c in run.changes] == ["momentum"]


# ------------------------------------------------------------------------------------------ schedules
def _torch_rates(make, epochs, metrics=None, lr=0.1):
    """The rate of each epoch from a scheduler built independently, stepped once per epoch."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for epoch in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(*([metrics[epoch]] if metrics is not None else []))
    return rates


@pytest.mark.parametrize("settings, make", [
    ({"schedule": "step", "step_size": 2, "gamma": 0.5},
     lambda o: schedulers.StepLR(o, step_size=2, gamma=0.5)),
    ({"schedule": "step"}, lambda o: schedulers.StepLR(o, step_size=30, gamma=0.1)),
    ({"schedule": "cosine"}, lambda o: schedulers.CosineAnnealingLR(o, T_max=7, eta_min=0.0)),
    ({"schedule": "cosine", "min_learning_rate": 0.02},
     lambda o: schedulers.CosineAnnealingLR(o, T_max=7, eta_min=0.02)),
    ({"schedule": "none"}, lambda o: schedulers.LambdaLR(o, lambda epoch: 1.0)),
])
def test_each_epoch_schedule_gives_the_torch_schedulers_rates(xor, settings, make):
    epochs = 7
    batches = []
    run = train(_design(), xor, {**settings, "learning_rate": 0.1, "batch_size": 16, "epochs": epochs,
                                 "device": "cpu"}, on_batch=batches.append)
    expected = _torch_rates(make, epochs)
    assert run.learning_rate == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # every batch of an epoch uses that epoch's rate
    for b in batches:
        assert b.learning_rate == pytest.approx(expected[b.epoch - 1], rel=1e-12, abs=1e-15)
    assert run.to_dict()["learning_rate"] == run.learning_rate


@pytest.mark.parametrize("data", ["xor", "xor_no_validation"])
def test_plateau_lowers_the_rate_on_the_validation_loss_or_the_training_loss(request, data):
    dataset = request.getfixturevalue(data)
    # a rate this small improves the loss by less than the scheduler's threshold: every epoch is a plateau
    settings = {"schedule": "plateau", "gamma": 0.5, "patience": 1, "min_learning_rate": 1e-7,
                "learning_rate": 1e-5, "epochs": 8, "device": "cpu"}
    run = train(_design(), dataset, settings)
    metrics = run.val_loss if data == "xor" else run.train_loss
    assert len(metrics) == 8
    expected = _torch_rates(lambda o: schedulers.ReduceLROnPlateau(o, factor=0.5, patience=1, min_lr=1e-7),
                            8, metrics, lr=1e-5)
    assert run.learning_rate == pytest.approx(expected, rel=1e-9)
    assert len(set(run.learning_rate)) > 2  # it did lower the rate, more than once


def test_plateau_stops_at_the_minimum_rate(xor):
    run = train(_design(), xor, {"schedule": "plateau", "gamma": 0.1, "patience": 0, "min_learning_rate": 1e-7,
                                 "learning_rate": 1e-5, "epochs": 6, "device": "cpu"})
    assert run.learning_rate[-1] == pytest.approx(1e-7)
    assert min(run.learning_rate) >= 1e-7


def test_one_cycle_moves_the_rate_after_every_batch(xor):
    epochs, size = 3, 16
    batches = []
    run = train(_design(), xor, {"schedule": "one_cycle", "learning_rate": 0.5, "batch_size": size,
                                 "epochs": epochs, "device": "cpu"}, on_batch=batches.append)
    per_epoch = -(-len(xor.x_train) // size)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = schedulers.OneCycleLR(optimizer, max_lr=0.5, total_steps=epochs * per_epoch, cycle_momentum=False)
    expected = []
    for _ in range(epochs * per_epoch):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert [b.learning_rate for b in batches] == pytest.approx(expected, rel=1e-12)
    assert run.learning_rate == pytest.approx(expected[per_epoch - 1::per_epoch], rel=1e-12)
    assert 0.45 < max(expected) <= 0.5 and expected[0] == pytest.approx(0.5 / 25)


def test_one_cycle_keeps_the_users_momentum(xor):
    module = _design()
    expected = copy.deepcopy(module)
    n = len(xor.x_train)
    run = train(module, xor, {"schedule": "one_cycle", "optimizer": "sgd", "momentum": 0.5, "learning_rate": 0.5,
                              "batch_size": n, "epochs": 3, "device": "cpu"})
    optimizer = torch.optim.SGD(list(expected.parameters()), lr=0.5, momentum=0.5)
    scheduler = schedulers.OneCycleLR(optimizer, max_lr=0.5, total_steps=3, cycle_momentum=False)
    y = xor.y_train.float().reshape(-1, 1)
    expected.train()
    for _ in range(3):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(expected.logits(xor.x_train), y).backward()
        optimizer.step()
        scheduler.step()
    assert run.status == "completed"
    _assert_same_weights(module, expected)


# ------------------------------------------------------------------------------------------ live changes
def _changing_at_epoch(control, epoch, rate):
    def on_epoch(stats):
        if stats.epoch == epoch:
            control.update(learning_rate=rate)
    return on_epoch


@pytest.mark.parametrize("settings, make", [
    ({"schedule": "step", "step_size": 2, "gamma": 0.5}, lambda o: schedulers.StepLR(o, step_size=2, gamma=0.5)),
    ({"schedule": "cosine", "min_learning_rate": 0.02},
     lambda o: schedulers.CosineAnnealingLR(o, T_max=6, eta_min=0.02)),
    ({"schedule": "cosine"}, lambda o: schedulers.CosineAnnealingLR(o, T_max=6)),
    ({"schedule": "none"}, lambda o: schedulers.LambdaLR(o, lambda epoch: 1.0)),
])
def test_a_rate_changed_between_epochs_rescales_the_schedule(xor, settings, make):
    control = Control()
    run = train(_design(), xor, {**settings, "learning_rate": 0.1, "epochs": 6, "device": "cpu"}, control=control,
                on_epoch=_changing_at_epoch(control, 3, 0.4))
    before = _torch_rates(make, 6)  # from 0.1
    after = [rate * 4 for rate in before] if "min_learning_rate" not in settings else None
    if after is None:  # the floor does not scale: the schedule a run started at 0.4 would follow
        after = _torch_rates(make, 6, lr=0.4)
    assert run.learning_rate[:3] == pytest.approx(before[:3], rel=1e-12)
    assert run.learning_rate[3:] == pytest.approx(after[3:], rel=1e-9)
    assert run.changes == [{"epoch": 4, "batch": 1, "batches": 5, "name": "learning_rate", "value": 0.4}]


def test_a_rate_changed_within_a_one_cycle_epoch_scales_the_rest_of_the_cycle(xor):
    control = Control()
    batches = []

    def on_batch(stats):
        batches.append(stats)
        if stats.epoch == 2 and stats.batch == 2:
            control.update(learning_rate=0.25)  # half the base: every later rate is halved

    train(_design(), xor, {"schedule": "one_cycle", "learning_rate": 0.5, "epochs": 3, "device": "cpu"},
          control=control, on_batch=on_batch)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = schedulers.OneCycleLR(optimizer, max_lr=0.5, total_steps=15, cycle_momentum=False)
    expected = []
    for _ in range(15):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    changed = 5 + 2  # from the third batch of the second epoch on
    assert [b.learning_rate for b in batches][:changed] == pytest.approx(expected[:changed], rel=1e-12)
    assert [b.learning_rate for b in batches][changed:] == pytest.approx([r / 2 for r in expected[changed:]],
                                                                         rel=1e-9)


def test_a_rate_changed_under_plateau_carries_its_reductions(xor):
    control = Control()
    run = train(_design(), xor, {"schedule": "plateau", "gamma": 0.5, "patience": 0, "learning_rate": 1e-5,
                                 "epochs": 5, "device": "cpu"}, control=control,
                on_epoch=_changing_at_epoch(control, 3, 2e-5))
    # every epoch after the first is a plateau at this rate, so the rate halves after each; after epoch 3
    # (2.5e-6 from then on) the base is doubled, and the halvings so far carry over
    assert run.learning_rate == pytest.approx([1e-5, 1e-5, 5e-6, 5e-6, 2.5e-6], rel=1e-9)


# ------------------------------------------------------------------------------------------ modes and penalties
class _ModeRecorder(nn.Module):
    """A design stand-in with dropout and batch normalisation that records the mode of every forward pass."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.input_shape, self.output_units, self.output_activation, self.is_sequence = (2,), 1, "sigmoid", False
        self.hidden = nn.Linear(2, 8)
        self.norm = nn.BatchNorm1d(8)
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(8, 1)
        self.modes = []

    def logits(self, x):
        self.modes.append(self.training)
        return self.out(self.drop(torch.tanh(self.norm(self.hidden(x)))))

    def forward(self, x):
        return torch.sigmoid(self.logits(x))


def test_batches_train_in_training_mode_validation_in_evaluation_mode_and_the_module_ends_evaluating(xor):
    module = _ModeRecorder()
    module.eval()
    run = train(module, xor, {"batch_size": 40, "epochs": 2, "device": "cpu"})
    # two training batches of 80 samples, then one validation pass of 20, per epoch
    assert module.modes == [True, True, False, True, True, False]
    assert run.status == "completed" and module.training is False
    assert not module.norm.running_mean.eq(0).all()  # the batches updated the running statistics


def test_only_connection_and_recurrent_weights_are_penalised():
    module = _design()
    names = [spec.name for spec in module.weight_specs() if is_penalized(spec.name)]
    assert names == ["x-h.weight", "h-out.weight"]
    assert [p.data_ptr() for p in penalized_parameters(module)] == [
        getattr(module, spec.attr).data_ptr() for spec in module.weight_specs() if spec.name in names]
    for name in ("h.bias", "h.bias_hh", "h.norm_weight", "h.norm_bias", "h.running_mean", "h.running_var"):
        assert not is_penalized(name), name
    assert is_penalized("h.weight_hh")

    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 3)
            self.norm = nn.BatchNorm1d(3)
            self.out = nn.Linear(3, 1)

    other = Other()
    chosen = {id(p) for p in penalized_parameters(other)}
    named = {name for name, p in other.named_parameters() if id(p) in chosen}
    assert named == {"lstm.weight_ih_l0", "lstm.weight_hh_l0", "out.weight"}


# ------------------------------------------------------------------------------------------ the settings
NEW = {"label_smoothing": 0.1, "huber_delta": 0.5, "nesterov": True, "weight_decay": 0.01, "schedule": "cosine",
       "step_size": 5, "gamma": 0.5, "patience": 3, "min_learning_rate": 1e-4}


def test_an_old_training_block_round_trips_to_the_same_dict_and_bytes():
    old = {"warmup": 3, **DEFAULT_TRAINING, "momentum": 0.9, "seed": 7}
    written = TrainingConfig.from_dict(old).to_dict()
    assert list(written.items()) == list(old.items())
    assert json.dumps(written, indent=2) == json.dumps(old, indent=2)
    # and the defaults of the new fields are filled in when read
    config = TrainingConfig.from_dict(old)
    assert (config.schedule, config.weight_decay, config.nesterov, config.label_smoothing) == ("none", 0.0, False,
                                                                                               0.0)
    assert config.replace(epochs=3).to_dict() == {**old, "epochs": 3}


def test_an_old_project_resaves_byte_identical_after_training_settings_pass_through_the_config(tmp_path):
    project = Project.new("old")
    project.graph = _graph()
    first = tmp_path / "first.nnd"
    write_project(project, first)
    again = read_project(first)
    again.training = TrainingConfig.from_dict(again.training).to_dict()
    second = tmp_path / "second.nnd"
    write_project(again, second)
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.read("project.json") == b.read("project.json")


def test_new_fields_are_written_only_when_they_differ_from_their_defaults():
    block = {**DEFAULT_TRAINING, "optimizer": "sgd", "momentum": 0.9, **NEW}
    config = TrainingConfig.from_dict(block)
    assert config.to_dict() == block
    back = TrainingConfig.from_dict(config.to_dict())
    assert back == config
    defaults = TrainingConfig.from_dict({**DEFAULT_TRAINING, "schedule": "none", "weight_decay": 0, "gamma": 0.1})
    assert defaults.to_dict() == DEFAULT_TRAINING
    assert config.replace(schedule="step").to_dict()["schedule"] == "step"


def test_the_learning_rates_are_in_the_history_and_survive_a_save(tmp_path):
    project = Project.new("lr")
    project.graph = _graph()
    project.dataset = {"kind": "builtin", "name": "xor", "samples": 100, "seed": 1}
    project.training.update(epochs=3, device="cpu", schedule="step", step_size=1, gamma=0.5)
    run = train_project(project)
    assert run.learning_rate == pytest.approx([0.1, 0.05, 0.025])
    assert project.history[-1]["learning_rate"] == run.learning_rate
    assert project.history[-1]["training"]["schedule"] == "step"
    write_project(project, tmp_path / "lr.nnd")
    assert read_project(tmp_path / "lr.nnd").history[-1]["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])


@pytest.mark.parametrize("field, value, words", [
    ("label_smoothing", 1.0, "up to (not including) 1"),
    ("label_smoothing", -0.1, "from 0"),
    ("label_smoothing", "0.1", "a number"),
    ("huber_delta", 0, "above 0"),
    ("huber_delta", float("inf"), "above 0"),
    ("nesterov", 1, "true or false"),
    ("nesterov", "yes", "true or false"),
    ("weight_decay", -0.01, "from 0"),
    ("weight_decay", float("nan"), "0 turns it off"),
    ("schedule", "exponential", "none, step, cosine, one_cycle, plateau"),
    ("step_size", 0, "whole number from 1"),
    ("step_size", 2.5, "whole number"),
    ("gamma", 0, "between 0 and 1"),
    ("gamma", 1.0, "between 0 and 1"),
    ("gamma", True, "between 0 and 1"),
    ("patience", -1, "whole number from 0"),
    ("min_learning_rate", -1e-5, "from 0"),
    ("min_learning_rate", 1e7, "from 0 to 1e+06"),
    ("optimizer", "nadam", "sgd, adam, adamw, rmsprop"),
    ("loss", "hinge", "auto, mse, mae, huber, cross_entropy, bce"),
])
def test_a_bad_new_value_names_the_field_and_what_fits(field, value, words):
    with pytest.raises(TrainingError) as caught:
        TrainingConfig.from_dict({field: value})
    message = str(caught.value)
    assert message.startswith(f"training: {field} must be")
    assert words in message
    assert repr(value) in message


def test_whole_numbers_may_be_written_as_floats():
    config = TrainingConfig.from_dict({"step_size": 10.0, "patience": 0.0, "gamma": 0.5, "weight_decay": 0})
    assert (config.step_size, config.patience) == (10, 0) and isinstance(config.step_size, int)
    assert isinstance(config.weight_decay, float)


def test_a_run_records_its_settings_and_converges_with_the_new_options(xor):
    run = train(_design(2, "softmax", hidden=8), xor, {
        "optimizer": "adamw", "learning_rate": 0.05, "weight_decay": 0.01, "schedule": "cosine",
        "label_smoothing": 0.05, "epochs": 30, "device": "cpu"})
    assert run.status == "completed" and run.loss == "cross_entropy"
    assert run.training["optimizer"] == "adamw" and run.training["schedule"] == "cosine"
    assert run.val_accuracy[-1] >= 0.9
    assert run.learning_rate[0] == 0.05 and run.learning_rate[-1] < 0.001
    assert math.isclose(run.last.learning_rate, run.learning_rate[-1])


class _Exploding(nn.Module):
    """Logits that overflow after an update or two, and a running statistic taken in training mode."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.input_shape, self.output_units, self.output_activation, self.is_sequence = (2,), 1, "sigmoid", False
        self.lin = nn.Linear(2, 1)
        self.register_buffer("running_mean", torch.zeros(1))

    def logits(self, x):
        z = self.lin(x) * 1e20
        if self.training:
            self.running_mean.add_(z.detach().mean())
        return z

    def forward(self, x):
        return torch.sigmoid(self.logits(x))


def test_a_diverged_epoch_restores_the_running_statistics_too(xor):
    module = _Exploding()
    run = train(module, xor, {"learning_rate": 1.0, "epochs": 20, "batch_size": 8, "device": "cpu"})
    assert run.status == "diverged", run.message
    assert torch.isfinite(module.running_mean).all() and torch.isfinite(module.lin.weight).all()


# ---------------------------------------------------------------- batch normalisation in the loop
def _batch_norm_project(batch_size: int, **training) -> Project:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h", "neurons", (8,), activation="relu", norm="batch"))
    graph.add_layer(Layer("out", "neurons", (1,), activation="sigmoid"))
    graph.connect("x", "h")
    graph.connect("h", "out")
    # 100 samples, 80 to train: batches of 79 leave a last batch of one sample
    return Project(name="bn", graph=graph, dataset={"kind": "builtin", "name": "xor", "samples": 100, "seed": 1},
                   training={**DEFAULT_TRAINING, "batch_size": batch_size, "epochs": 2, **training})


def test_a_last_batch_of_one_joins_the_batch_before_it_under_batch_norm():
    batches = []
    run = train_project(_batch_norm_project(79), device="cpu", on_batch=batches.append)
    assert run.status == "completed" and run.samples_trained == 2 * 80
    assert [(b.epoch, b.batch, b.batches) for b in batches] == [(1, 1, 1), (2, 1, 1)]


def test_batch_norm_with_batches_of_one_is_refused_naming_the_layer():
    from designer.training.checks import project_problems

    problems, _ = project_problems(_batch_norm_project(1))
    [problem] = [p for p in problems if p.severity == "error"]
    assert problem.layer_id == "h" and "batch_size 1" in problem.message and "layer normalisation" in problem.message
    with pytest.raises(TrainingError, match="batch_size 1"):
        train_project(_batch_norm_project(1), device="cpu")


@pytest.mark.parametrize("training, words", [
    ({"optimizer": "adamw", "momentum": 0.9}, ["momentum 0.9 is not used", "adamw"]),
    ({"optimizer": "adam", "nesterov": True, "momentum": 0.9}, ["nesterov is not used"]),
    ({"loss": "mse", "label_smoothing": 0.1}, ["label_smoothing"]),
])
def test_check_names_settings_that_do_not_apply(training, words):
    from designer.training.checks import project_problems

    problems, _ = project_problems(_batch_norm_project(16, **training))
    lines = [str(p) for p in problems]
    assert any(all(word in line for word in words) for line in lines), lines


def test_train_json_gives_the_scheduled_learning_rate(tmp_path):
    import subprocess
    import sys

    project = _batch_norm_project(16, schedule="step", step_size=1, gamma=0.5, learning_rate=0.2)
    write_project(project, tmp_path / "bn.nnd")
    result = subprocess.run([sys.executable, "-m", "designer.cli", "train", str(tmp_path / "bn.nnd"), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["learning_rate"] for r in records] == pytest.approx([0.2, 0.1])  # the rate each epoch ended at
    assert read_project(tmp_path / "bn.nnd").history[-1]["learning_rate"] == pytest.approx([0.2, 0.1])


def test_a_run_records_how_long_it_trained_and_the_run_table_shows_it():
    from designer.insight import compare_runs

    project = _batch_norm_project(16)
    run = train_project(project, device="cpu")
    assert run.to_dict()["seconds"] == pytest.approx(run.seconds, abs=1e-3) and run.seconds > 0
    older = {k: v for k, v in project.history[-1].items() if k != "seconds"}  # a run saved before the field
    table = compare_runs([older, project.history[-1]])
    assert [row.seconds for row in table.rows] == [None, pytest.approx(run.seconds, abs=1e-3)]
