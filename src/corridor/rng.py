"""Counter-based random numbers.

A uniform draw is a hash of (run seed, stream, month, person). Streams are
named by module and purpose, so draws do not depend on the order modules run
in, on thread count, or on how many other persons drew that month. The same
person in the same month gets the same number in two policy arms (common random
numbers), so the difference between two scenarios is the policy, not the noise.
"""

import hashlib

import numba as nb
import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def stream_key(seed: int, name: str) -> np.uint64:
    """A 64-bit key for the stream ``name`` of a run with ``seed``."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@nb.njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


mix64 = _mix  # the same hash on arrays of uint64 (numba compiles it for them)


@nb.njit(cache=True, inline="always")
def uniform_at(key, month, person):
    """One uniform in [0, 1) for (key, month, person)."""
    z = key + np.uint64(month) * np.uint64(0x9E3779B97F4A7C15)
    z = _mix(z + np.uint64(person) * np.uint64(0xD1B54A32D192ED03))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def uniforms(key, month, persons):
    out = np.empty(persons.shape[0], dtype=np.float64)
    for i in range(persons.shape[0]):
        out[i] = uniform_at(key, month, persons[i])
    return out


@nb.njit(cache=True)
def _uniforms_range(key, month, n):
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = uniform_at(key, month, i)
    return out


class Streams:
    """Named random streams of one run."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def key(self, name: str) -> np.uint64:
        if name not in self._keys:
            self._keys[name] = stream_key(self.seed, name)
        return self._keys[name]

    def uniform(self, name: str, month: int, persons: np.ndarray) -> np.ndarray:
        """Uniforms for the given person indices."""
        return uniforms(self.key(name), month, persons.astype(np.int64, copy=False))

    def uniform_all(self, name: str, month: int, n: int) -> np.ndarray:
        """Uniforms for persons 0..n-1 (or any n draws keyed by position)."""
        return _uniforms_range(self.key(name), month, n)

    def bernoulli(self, name: str, month: int, persons: np.ndarray, p) -> np.ndarray:
        """Boolean mask: which of ``persons`` have the event with probability p."""
        return self.uniform(name, month, persons) < p

    def normal(self, name: str, month: int, persons: np.ndarray) -> np.ndarray:
        """Standard normals by Box-Muller on two independent streams."""
        u1 = self.uniform(name + ".u1", month, persons)
        u2 = self.uniform(name + ".u2", month, persons)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
