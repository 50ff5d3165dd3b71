"""``out = alpha * a @ b + beta * c`` as one BLAS call.

numpy's matmul has no ``alpha`` or ``beta``: an SGD step ``W -= lr * x.T @ dh``
costs numpy a product into a temporary and then one more pass over W to
subtract it. BLAS's gemm scales and accumulates while the product is being
formed, in place in W. numpy already carries a BLAS (OpenBLAS in its wheels);
this module calls the gemm of that same library through ctypes, so there is
still one BLAS and one thread pool in the process (mixing in a second BLAS,
e.g. scipy's, makes two pools spin against each other).

The library is found among the ones this process has loaded (Linux lists
them in /proc/self/maps; numpy's own copy is preferred, another wheel's
private copy never taken), its gemm is checked once against numpy, and
``available(dtype)`` tells the compiler whether to use it. Elsewhere, or
with ``GRAPHC_BLAS=0`` in the environment, nothing here is used and graphs
compile to plain numpy as before. ``gemm`` itself falls back to numpy for
operands BLAS cannot take as they are (strided views, other dtypes, empty,
or overlapping ``out``).
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (symbol prefix, suffix, integer type) of the builds numpy ships or links:
# scipy-openblas64 (numpy's wheels), openblas64_ (64-bit ints) and plain cblas.
_NAMINGS = (("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64),
            ("scipy_", "", ctypes.c_int32), ("", "", ctypes.c_int32))


def _loaded_libraries() -> list:
    """Paths of the BLAS libraries this process has loaded that numpy may use."""
    try:
        with open("/proc/self/maps") as maps:
            return blas_paths(maps.read().splitlines())
    except OSError:
        return []


def blas_paths(maps_lines) -> list:
    """The BLAS libraries named in /proc/self/maps lines that numpy may use:
    numpy's own copy (in its wheel's numpy.libs) first, then shared system
    ones; never another wheel's private copy (scipy.libs and the like), whose
    thread pool would compete with numpy's."""
    numpy_libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    own, shared = [], []
    for line in maps_lines:
        fields = line.split(None, 5)
        if len(fields) < 6:
            continue
        path, name = fields[5], os.path.basename(fields[5]).lower()
        if "blas" not in name or ".cpython-" in name or path in own or path in shared:
            continue
        folder = os.path.dirname(path)
        if folder == numpy_libs:
            own.append(path)
        elif not folder.endswith(".libs"):
            shared.append(path)
    return own + shared


def _bind(library, letter: str, scalar):
    for prefix, suffix, integer in _NAMINGS:
        routine = getattr(library, f"{prefix}cblas_{letter}gemm{suffix}", None)
        if routine is not None:
            routine.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                                scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer,
                                scalar, ctypes.c_void_p, integer]
            routine.restype = None
            return routine
    return None


def _works(routine, dtype) -> bool:
    """One small product with both operand orders, against numpy."""
    a = np.arange(1, 7, dtype=dtype).reshape(2, 3)
    b = np.asfortranarray(np.arange(2, 8, dtype=dtype).reshape(3, 2))
    c = np.ones((2, 2), dtype)
    expected = 2 * (a @ b) + 3 * c
    _call(routine, 2.0, a, b, 3.0, c, *_layout(a), *_layout(b))
    return bool(np.array_equal(c, expected))


def _find_routines() -> dict:
    if os.environ.get("GRAPHC_BLAS", "1") == "0":
        return {}
    for path in _loaded_libraries():
        try:
            library = ctypes.CDLL(path)  # already loaded: the same handle numpy uses
        except OSError:
            continue
        found = {}
        for dtype, letter, scalar in ((np.dtype(np.float32), "s", ctypes.c_float),
                                      (np.dtype(np.float64), "d", ctypes.c_double)):
            routine = _bind(library, letter, scalar)
            if routine is not None and _works(routine, dtype):
                found[dtype] = routine
        if found:
            return found
    return {}


def _layout(x):
    """(transpose flag, leading dimension) of a 2-D operand in row-major terms, or None."""
    flags = x.flags
    if not flags.aligned:
        return None
    if flags.c_contiguous:
        return NO_TRANS, max(1, x.shape[1])
    if flags.f_contiguous:
        return TRANS, max(1, x.shape[0])
    return None


def _address(x) -> int:
    """Address of the first element of a C- or F-contiguous array."""
    try:  # the fast way needs a writable C-contiguous buffer; x.T of an F-contiguous x is one
        return ctypes.addressof(ctypes.c_char.from_buffer(x if x.flags.c_contiguous else x.T))
    except (TypeError, ValueError, BufferError):  # read-only
        return x.ctypes.data


def _call(routine, alpha, a, b, beta, out, trans_a, ld_a, trans_b, ld_b):
    (m, k), n = a.shape, b.shape[1]
    routine(ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, _address(a), ld_a,
            _address(b), ld_b, beta, _address(out), max(1, n))


_ROUTINES = _find_routines()


def available(dtype) -> bool:
    """Whether ``gemm`` runs as one BLAS call for arrays of ``dtype``."""
    return np.dtype(dtype) in _ROUTINES


def gemm(alpha, a, b, c=None, beta=0.0, out=None):
    """``out = alpha * (a @ b) + beta * c`` for 2-D ``a`` and ``b``, returned.

    ``c`` (omitted: 0) may broadcast to the product's shape and may be
    ``out`` itself, which then accumulates in place; ``out`` is allocated
    when None.
    """
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    if out.flags.c_contiguous:
        product = (a, b, out)
    else:  # column-major out: compute its transpose, b.T @ a.T, row-major
        product = (b.T, a.T, out.T)
    routine = _ROUTINES.get(out.dtype)
    layouts = None
    if (routine is not None and a.dtype == out.dtype and b.dtype == out.dtype and out.size and a.shape[1]
            and product[2].flags.c_contiguous and product[2].flags.aligned
            and not np.may_share_memory(out, a) and not np.may_share_memory(out, b)):
        layout_a, layout_b = _layout(product[0]), _layout(product[1])
        if layout_a is not None and layout_b is not None:
            layouts = layout_a + layout_b
    if layouts is None:  # numpy, with the product formed before out is written
        result = np.matmul(a, b)
        result *= alpha
        if c is not None:
            result += np.multiply(c, beta)
        np.copyto(out, result)
        return out
    if c is None:
        beta = 0.0  # BLAS then never reads out's old contents
    elif c is not out:
        np.copyto(out, c)
    _call(routine, float(alpha), product[0], product[1], float(beta), product[2], *layouts)
    return out
