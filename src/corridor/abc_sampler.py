"""A deterministic ABC-SMC sampler: the posterior depends on the seed, not on the workers.

pyabc's parallel samplers accept the first particles that *arrive*, from worker
processes seeded by the operating system, so two runs of a calibration differ,
and a resumed one differs from an uninterrupted one. Here candidate ``j`` of
generation ``t`` is simulated with its own seed, derived from (seed, t, j);
candidates are evaluated in batches over Dask (``corridor.ensemble.map_runs``)
and the first ``n`` accepted *in the order of j* form the population. The same
seed gives the same posterior on one core, on a local cluster or on a remote
one, with workers lost on the way, and a generation that was interrupted is
redone identically.
"""

import random

import numpy as np
import pyabc


class OrderedSampler(pyabc.sampler.Sampler):
    def __init__(self, seed: int, executor):
        super().__init__()
        self.seed = int(seed)
        self.executor = executor  # corridor.cluster.Executor

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        from corridor.ensemble import map_runs

        particles: list = []
        accepted = 0
        rate = 1.0 if all_accepted else 0.5
        while accepted < n and len(particles) < max_eval:
            # enough candidates for the expected acceptance; the batch size changes the work, not the result
            size = max(int(np.ceil((n - accepted) / max(rate, 0.05))), 2 * self.executor.workers)
            size = int(min(size, 4 * n, max_eval - len(particles)))
            first = len(particles)
            args = [(simulate_one, candidate_seed(self.seed, t, j)) for j in range(first, first + size)]
            particles += map_runs(evaluate_candidate, args, progress=False, shared=(0,), executor=self.executor)
            accepted = sum(p.accepted for p in particles)
            rate = accepted / len(particles)
        sample = self._create_empty_sample()
        used = 0
        for particle in particles:  # up to the n-th accepted, in order
            if sample.n_accepted == n:
                break
            sample.append(particle)
            used += 1
        self.nr_evaluations_ = used
        if sample.n_accepted < n:
            sample.ok = False
        return sample


def candidate_seed(seed: int, t: int, j: int) -> int:
    """The seed of candidate ``j`` of generation ``t`` (t = -1: the prior sample that calibrates epsilon)."""
    return int(np.random.SeedSequence([seed, t + 1, j]).generate_state(1)[0])


def evaluate_candidate(simulate_one, seed: int):
    """Worker task: pyabc's proposal, simulation and acceptance of one candidate, from its own seed."""
    random.seed(seed)
    np.random.seed(seed)
    return simulate_one()
