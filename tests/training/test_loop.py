"""The training loop does the textbook arithmetic, learns, scores, guards against NaN and repeats itself."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from designer.training import BatchStats, EpochStats, TrainingError, evaluate, train
from designer.training.objectives import choose_objective


def _weights(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_plain_sgd_is_exactly_w_minus_learning_rate_times_gradient(tiny, xor_data):
    module = tiny(outputs=1, activation="sigmoid")
    expected = copy.deepcopy(module)
    lr = 0.3
    n = len(xor_data.x_train)
    # one batch holding all the data: two epochs are two updates of the whole-data gradient
    run = train(module, xor_data, {"learning_rate": lr, "batch_size": n, "epochs": 2, "device": "cpu"})
    assert run.status == "completed"
    y = xor_data.y_train.float().reshape(-1, 1)
    for _ in range(2):
        expected.zero_grad()
        F.binary_cross_entropy_with_logits(expected.logits(xor_data.x_train), y).backward()
        with torch.no_grad():
            for p in expected.parameters():
                p.copy_(p - lr * p.grad)
    for name, value in _weights(expected).items():
        torch.testing.assert_close(module.state_dict()[name], value, atol=1e-7, rtol=0)


@pytest.mark.parametrize("settings", [
    {"optimizer": "sgd", "learning_rate": 0.2, "momentum": 0.9},
    {"optimizer": "adam", "learning_rate": 0.02},
])
def test_momentum_and_adam_bring_the_loss_down(tiny, xor_data, settings):
    run = train(tiny(hidden=8), xor_data, {**settings, "batch_size": 16, "epochs": 30, "device": "cpu"})
    assert run.train_loss[-1] < 0.5 * run.train_loss[0]
    assert run.val_loss[-1] < 0.5 * run.val_loss[0]
    assert run.val_accuracy[-1] >= 0.9


@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
def test_l1_and_l2_penalties_add_to_the_gradient_of_weights_not_biases(tiny, xor_data, l1, l2):
    module = tiny()
    expected = copy.deepcopy(module)
    lr, n = 0.1, len(xor_data.x_train)
    run = train(module, xor_data, {"learning_rate": lr, "batch_size": n, "epochs": 1, "l1": l1, "l2": l2,
                                   "device": "cpu"})
    y = xor_data.y_train.float().reshape(-1, 1)
    data_loss = F.binary_cross_entropy_with_logits(expected.logits(xor_data.x_train), y)
    data_loss.backward()
    with torch.no_grad():
        for name, p in expected.named_parameters():
            step = p.grad.clone()
            if not name.endswith("bias"):
                step += l1 * torch.sign(p) + 2 * l2 * p
            p -= lr * step
    for name, value in _weights(expected).items():
        torch.testing.assert_close(module.state_dict()[name], value, atol=1e-6, rtol=0)
    # the reported training loss is the data loss alone, comparable with the validation loss
    assert run.train_loss[0] == pytest.approx(data_loss.item(), rel=1e-6)


def test_strong_l2_shrinks_the_weights(tiny, xor_data):
    plain, shrunk = tiny(seed=4), tiny(seed=4)
    common = {"learning_rate": 0.1, "epochs": 10, "device": "cpu"}
    train(plain, xor_data, common)
    train(shrunk, xor_data, {**common, "l2": 0.1})
    assert shrunk.hidden.weight.norm() < 0.5 * plain.hidden.weight.norm()


@pytest.mark.parametrize("outputs, activation, expected", [
    (2, "softmax", ("cross_entropy", True)),
    (2, "linear", ("cross_entropy", True)),
    (1, "sigmoid", ("bce", True)),
    (1, "linear", ("bce", True)),
    (1, "step", ("mse", False)),
    (1, "tanh", ("mse", False)),
])
def test_automatic_loss_for_classes(tiny, xor_data, outputs, activation, expected):
    objective = choose_objective("auto", tiny(outputs=outputs, activation=activation), xor_data)
    assert (objective.loss, objective.on_logits) == expected


def test_automatic_loss_for_regression_is_mse_on_the_output(tiny, plane_data):
    objective = choose_objective("auto", tiny(outputs=1, activation="linear"), plane_data)
    assert (objective.loss, objective.on_logits, objective.classification) == ("mse", False, False)


@pytest.mark.parametrize("loss, outputs, activation, data, words", [
    ("cross_entropy", 1, "sigmoid", "xor_data", ["cross_entropy", "1 unit", "bce"]),
    ("bce", 1, "linear", "plane_data", ["bce", "regression", "mse"]),
    ("auto", 3, "softmax", "xor_data", ["3 units", "2 classes"]),
    ("auto", 1, "softmax", "xor_data", ["softmax", "always gives 1", "sigmoid"]),
    ("auto", 2, "linear", "plane_data", ["2 units", "1 value"]),
    ("bce", 1, "tanh", "xor_data", ["logit", "'tanh'"]),
])
def test_a_loss_that_does_not_fit_says_why(tiny, request, loss, outputs, activation, data, words):
    module = tiny(outputs=outputs, activation=activation)
    with pytest.raises(TrainingError) as caught:
        train(module, request.getfixturevalue(data), {"loss": loss, "epochs": 1, "device": "cpu"})
    for word in words:
        assert word in str(caught.value)


def test_explicit_losses_train_on_classes(tiny, gaussians_data):
    for loss, outputs, activation in [("mse", 2, "softmax"), ("bce", 2, "sigmoid"), ("mse", 1, "sigmoid")]:
        run = train(tiny(outputs=outputs, activation=activation), gaussians_data,
                    {"loss": loss, "learning_rate": 0.5, "epochs": 10, "device": "cpu"})
        assert run.loss == loss
        assert run.val_accuracy[-1] >= 0.9, (loss, outputs)


def test_accuracy_counts_right_answers(tiny, gaussians_data):
    # class 1 lies around (0.5, 0.5), class 0 around (-0.5, -0.5): x1 + x2 > 0 is nearly always right,
    # and "always class 1" is right exactly as often as class 1 occurs
    module = tiny(hidden=0)
    with torch.no_grad():
        module.out.weight.copy_(torch.tensor([[10.0, 10.0]]))
        module.out.bias.zero_()
    objective = choose_objective("auto", module, gaussians_data)
    x, y = gaussians_data.x_val, gaussians_data.y_val
    _, accuracy = evaluate(module, objective, x, objective.targets(y, 2))
    assert accuracy == pytest.approx(((x.sum(1) > 0).long() == y).float().mean().item())
    assert accuracy > 0.95
    with torch.no_grad():
        module.out.weight.zero_()
        module.out.bias.fill_(5.0)
    loss, accuracy = evaluate(module, objective, x, objective.targets(y, 2))
    assert accuracy == pytest.approx(y.float().mean().item())
    assert loss == pytest.approx(F.binary_cross_entropy_with_logits(torch.full((len(y),), 5.0), y.float()).item())


def test_validation_loss_and_accuracy_are_those_of_the_weights_after_each_epoch(tiny, xor_data):
    module = tiny(outputs=2, activation="softmax")
    seen = []

    def on_epoch(stats):
        with torch.no_grad():
            logits = module.logits(xor_data.x_val)
        seen.append((F.cross_entropy(logits, xor_data.y_val).item(),
                     (logits.argmax(1) == xor_data.y_val).float().mean().item(), stats))

    run = train(module, xor_data, {"learning_rate": 0.5, "epochs": 3, "device": "cpu"}, on_epoch=on_epoch)
    assert [s[2].epoch for s in seen] == run.epochs == [1, 2, 3]
    for loss, accuracy, stats in seen:
        assert stats.val_loss == pytest.approx(loss, rel=1e-5)
        assert stats.val_accuracy == pytest.approx(accuracy)
    assert not any(p.grad is not None and torch.count_nonzero(p.grad) == 0 for p in module.parameters())


def test_callbacks_get_plain_python_numbers(tiny, xor_data):
    batches, epochs = [], []
    train(tiny(), xor_data, {"batch_size": 100, "epochs": 2, "learning_rate": 0.05, "device": "cpu"},
          on_batch=batches.append, on_epoch=epochs.append)
    n = len(xor_data.x_train)
    per_epoch = math.ceil(n / 100)
    assert [(b.epoch, b.batch, b.batches) for b in batches] == [
        (e, b, per_epoch) for e in (1, 2) for b in range(1, per_epoch + 1)]
    for b in batches:
        assert isinstance(b, BatchStats)
        assert type(b.loss) is float and type(b.learning_rate) is float and b.learning_rate == 0.05
    for e in epochs:
        assert isinstance(e, EpochStats)
        assert all(type(v) is float for v in (e.train_loss, e.val_loss, e.train_accuracy, e.val_accuracy))


def test_regression_has_no_accuracy(tiny, plane_data):
    epochs = []
    run = train(tiny(outputs=1, activation="linear"), plane_data,
                {"learning_rate": 0.1, "epochs": 20, "device": "cpu"}, on_epoch=epochs.append)
    assert run.train_accuracy == run.val_accuracy == []
    assert epochs[-1].train_accuracy is None and epochs[-1].val_accuracy is None
    assert run.val_loss[-1] < 0.2 * run.val_loss[0]


def test_the_same_seed_gives_the_same_losses_run_after_run(tiny, xor_data):
    settings = {"learning_rate": 0.3, "momentum": 0.5, "batch_size": 8, "epochs": 4, "seed": 7, "device": "cpu"}
    first = train(tiny(seed=1), xor_data, settings)
    again = train(tiny(seed=1), xor_data, settings)
    other = train(tiny(seed=1), xor_data, {**settings, "seed": 8})
    assert first.train_loss == again.train_loss
    assert first.val_loss == again.val_loss
    assert first.train_loss != other.train_loss  # the seed decides the order of the batches


def test_a_loss_that_becomes_nan_ends_the_run_as_diverged_keeping_finite_weights(tiny, plane_data):
    module = tiny(outputs=1, activation="linear")
    after_each_batch = []
    run = train(module, plane_data, {"learning_rate": 1e5, "batch_size": 8, "epochs": 50, "device": "cpu"},
                on_batch=lambda stats: after_each_batch.append(_weights(module)))
    assert run.status == "diverged"
    assert "learning rate" in run.message and "epoch 1" in run.message
    assert all(bool(torch.isfinite(p).all()) for p in module.parameters())
    # the weights are those from before the batch whose loss was not finite
    for name, value in after_each_batch[-1].items():
        assert torch.equal(module.state_dict()[name], value)
    assert run.to_dict()["status"] == "diverged"


def test_weights_ruined_before_the_loss_shows_it_are_replaced_by_the_epochs_start(tiny, plane_data):
    module = tiny(outputs=1, activation="linear")
    start = _weights(module)

    def ruin(stats):
        if stats.batch == 2:
            with torch.no_grad():
                module.hidden.weight[0, 0] = math.inf

    run = train(module, plane_data, {"epochs": 3, "device": "cpu"}, on_batch=ruin)
    assert run.status == "diverged" and "start of epoch 1" in run.message
    for name, value in start.items():
        assert torch.equal(module.state_dict()[name], value)


def test_a_design_that_does_not_take_the_data_is_refused(tiny, xor_data):
    with pytest.raises(TrainingError, match=r"takes \[3\] per sample .* gives \[2\]"):
        train(tiny(inputs=3), xor_data, {"epochs": 1, "device": "cpu"})


def test_an_unavailable_device_is_refused(tiny, xor_data):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(TrainingError, match="'cuda' is not available"):
        train(tiny(), xor_data, {"epochs": 1, "device": "cuda"})
    run = train(tiny(), xor_data, {"epochs": 1}, device="cpu")
    assert run.device == "cpu"


def test_the_run_dict_is_a_history_entry(tiny, xor_data):
    run = train(tiny(), xor_data, {"epochs": 2, "device": "cpu", "future_setting": 1})
    d = run.to_dict()
    assert {"id", "started", "training", "status", "epochs", "train_loss", "val_loss", "train_accuracy",
            "val_accuracy", "changes"} <= set(d)
    assert d["training"]["epochs"] == 2 and d["training"]["future_setting"] == 1
    assert d["epochs"] == [1, 2] and d["status"] == "completed" and d["changes"] == []
    assert len(d["started"]) == 20 and d["started"].endswith("Z")
