"""Numba kernels shared by several mechanisms: selections, passes over persons, counts."""

import types

import numba as nb
import numpy as np


@nb.njit(cache=True)
def flagged(flag):
    """Indices where ``flag`` is true, in order: ``np.flatnonzero`` for random flags.

    Counting first and then writing every index while advancing only on a flag
    avoids both a large allocation and a branch per element, which random flags
    would mispredict (three to four times faster than ``np.flatnonzero`` here)."""
    n = 0
    for i in range(np.uint64(flag.shape[0])):
        n += flag[i]
    out = np.empty(n + 1, dtype=np.int64)
    n = 0
    for i in range(flag.shape[0]):
        out[n] = i
        n += flag[i]
    return out[:n]


@nb.njit(cache=True, inline="always")
def unsigned_bounds(bounds, c):
    """The index range of chunk ``c`` as unsigned integers.

    A loop over a signed range makes numba wrap negative indices around at every
    array access, which stops LLVM from vectorising the loop; over an unsigned
    range the loop bodies of the person passes vectorise (five to fifty times
    faster). Use the index for indexing only: numba widens mixed signed and
    unsigned arithmetic to float."""
    return np.uint64(bounds[c]), np.uint64(bounds[c + 1])


@nb.njit(cache=True, inline="always")
def pick_region(r, values):
    """``values[r]`` for the three regions, as selects (a table lookup would stop vectorisation)."""
    return values[0] if r == 0 else (values[1] if r == 1 else values[2])


@nb.njit(cache=True, inline="always")
def tally_region(r, flag, n0, n1, n2):
    """Add ``flag`` to the counter of region ``r`` of three scalar counters (vectorisable,
    unlike an increment of an array indexed by region)."""
    return n0 + (flag & (r == 0)), n1 + (flag & (r == 1)), n2 + (flag & (r == 2))


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
    """Persons per state (np.bincount would first widen the int8 states to int64).

    Four interleaved tallies: neighbours often share a state, and with a single
    tally each increment would wait for the one before (three times slower)."""
    tally = np.zeros((4, n_states), dtype=np.int64)
    for i in range(state.shape[0]):
        tally[i & 3, state[i]] += 1
    return tally.sum(axis=0)
