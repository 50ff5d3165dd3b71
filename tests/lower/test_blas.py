"""The BLAS kernel: out = alpha * a @ b + beta * c, against numpy in float64.

Every case must hold whichever way ``gemm`` takes (one BLAS call, or numpy
for operands BLAS cannot take as they are).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from graphc.lower import blas

RNG = np.random.default_rng(7)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _operand(shape, dtype, layout):
    base = RNG.standard_normal(shape).astype(dtype)
    if layout == "C":
        return np.ascontiguousarray(base)
    if layout == "F":
        return np.asfortranarray(base)
    wide = RNG.standard_normal((shape[0], 2 * shape[1])).astype(dtype)  # every other column: strided
    wide[:, ::2] = base
    return wide[:, ::2]


def _expected(alpha, a, b, beta, c):
    value = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    return value if c is None else value + beta * np.asarray(c, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout_a", ["C", "F", "strided"])
@pytest.mark.parametrize("layout_b", ["C", "F", "strided"])
@pytest.mark.parametrize("layout_out", ["C", "F"])
def test_every_layout_gives_the_product(dtype, layout_a, layout_b, layout_out):
    a, b = _operand((7, 5), dtype, layout_a), _operand((5, 6), dtype, layout_b)
    c = _operand((7, 6), dtype, layout_out)
    expected = _expected(-0.5, a, b, 2.0, c)
    result = blas.gemm(-0.5, a, b, c, 2.0, out=c)  # in place into c
    assert result is c
    np.testing.assert_allclose(c, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_without_c_a_new_out_and_a_broadcast_c(dtype):
    a, b = _operand((4, 3), dtype, "C"), _operand((3, 5), dtype, "F")
    made = blas.gemm(3.0, a, b)
    assert made.shape == (4, 5) and made.dtype == dtype
    np.testing.assert_allclose(made, _expected(3.0, a, b, 0.0, None), **TOL[dtype])
    bias = RNG.standard_normal(5).astype(dtype)
    out = np.full((4, 5), np.nan, dtype)  # old contents never leak in
    blas.gemm(1.0, a, b, bias, 1.0, out=out)
    np.testing.assert_allclose(out, _expected(1.0, a, b, 1.0, bias), **TOL[dtype])
    blas.gemm(2.0, a, b, out=out)  # beta ignored without c: NaN-free
    np.testing.assert_allclose(out, _expected(2.0, a, b, 0.0, None), **TOL[dtype])


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0)])
def test_empty_dimensions(m, k, n):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    c = np.full((m, n), 2.0, np.float32)
    blas.gemm(1.0, a, b, c, 0.5, out=c)
    np.testing.assert_array_equal(c, np.full((m, n), 1.0, np.float32))


def test_an_operand_overlapping_out_is_read_before_out_is_written():
    w = RNG.standard_normal((6, 6))
    expected = w - 0.1 * (w.T @ w)
    blas.gemm(-0.1, w.T, w, w, 1.0, out=w)
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)


def test_read_only_operands_and_integer_arrays():
    a, b = _operand((4, 3), np.float64, "C"), _operand((3, 2), np.float64, "F")
    a.setflags(write=False)
    b.setflags(write=False)
    np.testing.assert_allclose(blas.gemm(1.5, a, b), 1.5 * (a @ b), rtol=1e-12)
    ints = np.arange(6).reshape(2, 3)
    out = np.zeros((2, 2), np.int64)
    blas.gemm(2, ints, ints.T, out=out)
    np.testing.assert_array_equal(out, 2 * ints @ ints.T)


def test_graphc_blas_0_switches_the_kernel_off():
    code = ("import numpy as np; from graphc.lower import blas; "
            "print(blas.available(np.float32), blas.gemm(2.0, np.eye(2), np.eye(2))[0, 0])")
    env = dict(os.environ, GRAPHC_BLAS="0")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "2.0"]


def test_the_kernel_is_found_where_numpy_ships_openblas():
    # numpy's Linux wheels carry OpenBLAS; elsewhere graphc runs on numpy alone
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if sys.platform.startswith("linux") and "openblas" in config.get("name", "").lower():
        assert blas.available(np.float32) and blas.available(np.float64)
    assert not blas.available(np.int64) and not blas.available(np.float16)


def test_contiguous_operands_take_one_blas_call_and_strided_ones_numpy(monkeypatch):
    calls = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: calls.append(args) or real(*args))
    dtype = np.float32
    for layout_a, layout_b, layout_out in [("C", "C", "C"), ("F", "C", "C"), ("C", "F", "F"), ("strided", "C", "C")]:
        a, b = _operand((5, 4), dtype, layout_a), _operand((4, 3), dtype, layout_b)
        c = _operand((5, 3), dtype, layout_out)
        expected = _expected(0.5, a, b, 1.0, c)
        blas.gemm(0.5, a, b, c, 1.0, out=c)
        np.testing.assert_allclose(c, expected, **TOL[dtype])
    assert len(calls) == (3 if blas.available(dtype) else 0)


def test_numpy_s_own_blas_is_chosen_and_another_wheel_s_copy_never():
    # e.g. after `import scipy.linalg` its private OpenBLAS is loaded too: calling
    # that one would start a second thread pool competing with numpy's
    site = os.path.dirname(os.path.dirname(np.__file__))
    line = "7f00-7f10 r-xp 00000000 08:01 42    {}".format
    maps = [line(f"{site}/scipy/linalg/cython_blas.cpython-311-x86_64-linux-gnu.so"),
            line(f"{site}/scipy.libs/libscipy_openblas-6cdc3b4a.so"),
            line("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"),
            line(f"{site}/numpy.libs/libscipy_openblas64_-32a4b2a6.so"),
            line(f"{site}/numpy.libs/libscipy_openblas64_-32a4b2a6.so"),
            "7f10-7f20 rw-p 00000000 00:00 0"]
    assert blas.blas_paths(maps) == [f"{site}/numpy.libs/libscipy_openblas64_-32a4b2a6.so",
                                     "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"]
