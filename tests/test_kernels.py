"""The shared Numba kernels give the same answers as plain NumPy, on any number of threads."""

import numba as nb
import numpy as np
import pytest

from corridor.kernels import count_states, flagged, logistic, person_pass, pick_region, tally_region, unsigned_bounds


@pytest.mark.parametrize("density", [0.0, 0.01, 0.5, 1.0])
def test_flagged_lists_the_true_indices_in_order(density):
    flag = np.random.default_rng(1).random(10_001) < density
    assert np.array_equal(flagged(flag), np.flatnonzero(flag))


def test_count_states_counts_every_state_like_bincount():
    state = np.random.default_rng(2).integers(0, 13, size=100_003).astype(np.int8)
    assert np.array_equal(count_states(state, 13), np.bincount(state, minlength=13))


@nb.njit(cache=True)
def _regions_by_select(regions, values):
    out = np.empty(regions.shape[0])
    n0 = n1 = n2 = 0
    for i in range(regions.shape[0]):
        out[i] = pick_region(regions[i], values)
        n0, n1, n2 = tally_region(regions[i], True, n0, n1, n2)
    return out, np.array([n0, n1, n2])


def test_region_selects_and_tallies_match_table_lookups():
    regions = np.random.default_rng(3).integers(0, 3, size=999).astype(np.int8)
    values = (0.5, 1.5, 2.5)
    picked, tallies = _regions_by_select(regions, values)
    assert np.array_equal(picked, np.array(values)[regions])
    assert np.array_equal(tallies, np.bincount(regions, minlength=3))


@person_pass
def _sum_chunks(x, bounds, out):
    for c in nb.prange(bounds.shape[0] - 1):
        lo, hi = unsigned_bounds(bounds, c)
        acc = 0.0
        for i in range(lo, hi):
            acc += x[i] * x[i]
        out[c] = acc


def test_a_person_pass_gives_the_same_result_serial_and_parallel():
    x = np.random.default_rng(4).random(50_000)
    bounds = np.linspace(0, x.size, 65).astype(np.int64)
    serial, parallel = np.zeros(64), np.zeros(64)
    _sum_chunks(1, x, bounds, serial)
    _sum_chunks(2, x, bounds, parallel)
    assert np.array_equal(serial, parallel)
    assert np.isclose(serial.sum(), (x * x).sum())


def test_logistic_is_the_inverse_of_the_log_odds():
    p = np.array([1e-6, 0.1, 0.5, 0.9])
    assert np.allclose(logistic(np.log(p / (1 - p))), p)
    assert logistic(-np.inf) == 0.0 and logistic(np.inf) == 1.0
