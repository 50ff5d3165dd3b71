"""Shared helpers for the tests: tolerances per dtype, a checked run, the hypothesis profile."""
import numpy as np
import pytest
from hypothesis import settings

# The suite is deterministic: every run (and CI) tries the same examples.
# Open-ended search is `python tools/fuzz.py --minutes N`.
settings.register_profile("graphc", derandomize=True, database=None)
settings.load_profile("graphc")

TOLERANCE = {np.dtype("float32"): dict(rtol=2e-5, atol=2e-6),
             np.dtype("float64"): dict(rtol=1e-12, atol=1e-12)}


def _check_output(tensor, value):
    """A run-time value agrees with the tensor's static shape and dtype."""
    value = np.asarray(value)
    assert value.dtype == tensor.dtype, f"{tensor.name}: static {tensor.dtype}, ran as {value.dtype}"
    assert value.ndim == len(tensor.shape), f"{tensor.name}: static {tensor.shape}, ran as {value.shape}"
    for static, actual in zip(tensor.shape, value.shape):
        assert static is None or static == actual, f"{tensor.name}: static {tensor.shape}, ran as {value.shape}"


@pytest.fixture
def compiled():
    """``compiled(inputs, outputs)``: a Function whose every call checks each output's static type."""
    import graphc as gc

    def compiled(inputs, outputs):
        single = not isinstance(outputs, (list, tuple))
        outs = [outputs] if single else list(outputs)
        f = gc.function(inputs, outs)

        def call(*arrays):
            values = f(*arrays)
            for t, v in zip(outs, values):
                _check_output(t, v)
            return values[0] if single else values
        call.function = f
        return call
    return compiled


@pytest.fixture
def close():
    """``close(actual, expected)``: same dtype as asked and numerically close for that dtype."""
    def close(actual, expected, dtype):
        dtype = np.dtype(dtype)
        actual = np.asarray(actual)
        assert actual.dtype == dtype, f"computed in {actual.dtype}, expected {dtype}"
        np.testing.assert_allclose(actual.astype(np.float64), np.asarray(expected, dtype=np.float64),
                                   **TOLERANCE.get(dtype, dict(rtol=0, atol=0)))
    return close
