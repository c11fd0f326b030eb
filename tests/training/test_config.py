"""Training settings: the spec's defaults, and a clear refusal naming the field for every bad value."""
import pytest

from designer.training import TrainingConfig, TrainingError


def test_an_empty_block_takes_the_specs_defaults():
    config = TrainingConfig.from_dict({})
    assert config.to_dict() == {"loss": "auto", "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0,
                                "batch_size": 16, "epochs": 200, "l1": 0.0, "l2": 0.0, "seed": 0,
                                "device": "auto"}


def test_values_are_read_and_unknown_keys_kept():
    d = {"loss": "cross_entropy", "optimizer": "adam", "learning_rate": 1, "momentum": 0.9, "batch_size": 32.0,
         "epochs": 5, "l1": 0.001, "l2": 0, "seed": 42, "device": "cpu", "warmup": {"steps": 10}}
    config = TrainingConfig.from_dict(d)
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert config.batch_size == 32 and isinstance(config.batch_size, int)
    assert config.to_dict() == {**d, "learning_rate": 1.0, "batch_size": 32, "l2": 0.0}
    assert config.replace(epochs=9, seed=None).epochs == 9


@pytest.mark.parametrize("field, value, words", [
    ("loss", "hinge", "auto, mse, mae, huber, cross_entropy, bce"),
    ("optimizer", "lbfgs", "sgd, adam, adamw, rmsprop"),
    ("learning_rate", 0, "above 0"),
    ("learning_rate", -0.1, "above 0"),
    ("learning_rate", float("inf"), "above 0"),
    ("learning_rate", "0.1", "above 0"),
    ("learning_rate", 1e7, "at most"),
    ("momentum", 1.0, "up to (not including) 1"),
    ("momentum", -0.5, "from 0"),
    ("batch_size", 0, "whole number from 1"),
    ("batch_size", 2.5, "whole number"),
    ("batch_size", True, "whole number"),
    ("epochs", 0, "whole number from 1"),
    ("epochs", 10**9, "to 1,000,000"),
    ("l1", -1, "0 turns the penalty off"),
    ("l2", float("nan"), "0 turns the penalty off"),
    ("seed", -1, "whole number from 0"),
    ("device", "tpu", "auto, cpu, cuda, mps"),
])
def test_a_bad_value_names_the_field_and_what_fits(field, value, words):
    with pytest.raises(TrainingError) as caught:
        TrainingConfig.from_dict({field: value})
    message = str(caught.value)
    assert message.startswith(f"training: {field} must be")
    assert words in message
    assert repr(value) in message


def test_the_block_must_be_an_object():
    with pytest.raises(TrainingError, match="JSON object"):
        TrainingConfig.from_dict([1, 2])
