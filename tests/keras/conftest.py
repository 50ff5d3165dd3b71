import pytest

from graphc import keras

try:  # BLAS threads fight over a busy machine; one thread is faster for these small matmuls
    from threadpoolctl import threadpool_limits
    _limits = threadpool_limits(1)
except ImportError:  # pragma: no cover
    _limits = None


@pytest.fixture(autouse=True)
def fresh_session():
    keras.utils.clear_session()
    keras.utils.set_random_seed(1234)
    yield
