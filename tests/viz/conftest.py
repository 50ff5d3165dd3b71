"""Fixtures of the viz tests; the helpers live in viz_helpers.py."""
import pytest

from viz_helpers import Browser, build_mlp_step, find_chromium


@pytest.fixture
def mlp_step():
    return build_mlp_step()


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("no chromium binary (apt-get install chromium) for the browser test")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.quit()
