"""Numba kernels shared by several mechanisms: one fused pass over the persons."""

import types

import numba as nb
import numpy as np


@nb.njit(cache=True)
def select_in_states(state, codes):
    """Indices of persons whose state is in ``codes`` (one pass)."""
    flag = np.zeros(32, dtype=np.bool_)
    for c in codes:
        flag[c] = True
    n = 0
    out = np.empty(state.shape[0], dtype=np.int64)
    for i in range(state.shape[0]):
        if flag[state[i]]:
            out[n] = i
            n += 1
    return out[:n]


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


class PersonPass:
    """A pass over all persons in household-aligned chunks (``nb.prange``), compiled
    both serially for one thread and in parallel for more (each cached). The
    chunks are fixed, so both give identical results."""

    def __init__(self, fn):
        self.fn = fn
        self.serial = nb.njit(cache=True)(fn)
        self._parallel = None
        self.__doc__ = fn.__doc__

    def __call__(self, threads: int, *args):
        if threads <= 1:
            return self.serial(*args)
        if self._parallel is None:
            # a renamed copy, so that numba's cache keeps the two compilations apart
            twin = types.FunctionType(self.fn.__code__, self.fn.__globals__, self.fn.__name__ + "_parallel")
            twin.__qualname__ = self.fn.__qualname__ + "_parallel"
            self._parallel = nb.njit(cache=True, parallel=True)(twin)
        return self._parallel(*args)


def person_pass(fn) -> PersonPass:
    return PersonPass(fn)


@nb.njit(cache=True)
def count_states(state, n_states):
    """Persons per state (np.bincount would first widen the int8 states to int64)."""
    out = np.zeros(n_states, dtype=np.int64)
    for s in state:
        out[s] += 1
    return out
