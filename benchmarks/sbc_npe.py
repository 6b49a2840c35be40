"""Neural posterior estimation (sbi, NPE) on the surrogate corridor, for benchmarks/sbc.py --method npe.

Trains one amortised posterior on simulations from the prior (model parameters and
noise dispersions, the dispersions on a log scale), the data as log(1 + count), then
ranks each replicate's true values among draws of that posterior. Needs torch and sbi,
which are not dependencies of corridor.
"""

import numpy as np

from corridor.observed import draw_noise
from corridor.priors import frozen
from corridor.sbc import SBCResult, SurrogateCorridor


def _simulate(problem: SurrogateCorridor, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy observations (log1p) for parameter rows: model parameters, then log dispersions."""
    keys = list(problem.model_priors)
    runs = problem.expected({k: theta[:, j] for j, k in enumerate(keys)}, rng)
    columns = []
    for j, (name, mu) in enumerate(runs.items()):
        noise = problem.mapping.series[name].noise
        cv = np.exp(theta[:, len(keys) + j])
        columns.append([[draw_noise(noise, m, c, rng) for m in row] for row, c in zip(mu, cv, strict=True)])
    return np.log1p(np.concatenate([np.asarray(c) for c in columns], axis=1))


def _prior_draws(problem: SurrogateCorridor, n: int, rng: np.random.Generator) -> np.ndarray:
    model = [frozen(p).rvs(size=n, random_state=rng) for p in problem.model_priors.values()]
    disp = [np.log(frozen(p).rvs(size=n, random_state=rng)) for p in problem.mapping.dispersion_priors().values()]
    return np.column_stack(model + disp)


def run_npe_sbc(replicates: int, simulations: int, draws: int = 19, bins: int = 5, seed: int = 0) -> SBCResult:
    import tempfile

    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(seed)
    problem = SurrogateCorridor()
    rng = np.random.default_rng(seed)
    priors = [*problem.model_priors.values(), *problem.mapping.dispersion_priors().values()]
    low = [p.low if p.dist == "uniform" else np.log(p.low) for p in priors]
    high = [p.high if p.dist == "uniform" else np.log(p.high) for p in priors]
    prior = BoxUniform(torch.tensor(low, dtype=torch.float32), torch.tensor(high, dtype=torch.float32))
    theta = _prior_draws(problem, simulations, rng)
    x = _simulate(problem, theta, rng)
    inference = NPE(prior=prior, summary_writer=SummaryWriter(tempfile.mkdtemp(prefix="sbi-logs-")))
    inference.append_simulations(torch.tensor(theta, dtype=torch.float32), torch.tensor(x, dtype=torch.float32))
    posterior = inference.build_posterior(inference.train())
    pairs = []
    for _ in range(replicates):
        truth = _prior_draws(problem, 1, rng)
        data = _simulate(problem, truth, rng)
        sample = posterior.sample((draws,), x=torch.tensor(data[0], dtype=torch.float32), show_progress_bars=False)
        pairs.append((truth[0], sample.numpy().astype(float)))
    return SBCResult(problem.names, pairs, bins, seed)
