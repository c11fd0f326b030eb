"""The fuzzing property on a small fixed budget (about 200 inputs, derandomized: the same inputs in every run).

``make fuzz`` runs the long budget (``NND_FUZZ_EXAMPLES``, default 10,000) with training of a sample.
"""
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import fuzz

SMALL = settings(max_examples=70, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck))


def _holds(data, tmp_path_factory):
    outcome = fuzz.run_one(data, tmp_path_factory.mktemp("fuzz"))
    assert not outcome.problems, outcome.problems


@SMALL
@given(data=fuzz.structured_files())
def test_any_structure_is_checked_with_exit_0_or_2(tmp_path_factory, data):
    _holds(data, tmp_path_factory)


@SMALL
@given(source=st.integers(0, len(fuzz.SOURCES) - 1), seed=st.integers(0, 2 ** 32), count=st.integers(1, 6))
def test_any_byte_mutation_of_an_example_is_checked_with_exit_0_or_2(tmp_path_factory, source, seed, count):
    _holds(fuzz.mutate_bytes(fuzz.SOURCES[source][0], random.Random(seed), count), tmp_path_factory)


@settings(SMALL, max_examples=60)
@given(header=fuzz.safetensors_junk())
def test_any_weights_file_is_checked_with_exit_0_or_2(tmp_path_factory, header):
    members = [(name, header if name == "weights.safetensors" else data)
               for name, data in fuzz.SOURCES[0][1] if name != "weights.safetensors"]
    _holds(fuzz.build_zip([*members, ("weights.safetensors", header)]), tmp_path_factory)
