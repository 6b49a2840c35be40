"""Is the point estimate the luck of its run? The distinct particles of highest prior x likelihood
of a tempered SMC posterior, each rerun on fresh seeds: the log-likelihood they were admitted with
against their mean over the fresh runs, and the boat arrivals they make in 2022 and 2023 (expected
counts, as fitted). Behind docs/calibration.md, "The default run is one particle".

    python scripts/point_estimate_check.py [--posterior all-years] [--top 12] [--seeds 4]
"""

from __future__ import annotations

import argparse

import numpy as np

from corridor.calibration import build_problem, load_posterior
from corridor.priors import frozen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posterior", default=None, help="calibration folder or shipped name (default all-years)")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    posterior, meta = load_posterior(args.posterior)
    problem = build_problem(meta.get("scenario", "albania-uk"), int(meta.get("until", 2023)))
    keys = list(problem.priors)
    distinct = posterior.drop_duplicates(subset=keys)
    # log_posterior = the prior's log density + the log-likelihood of the particle's own run
    log_prior = sum(frozen(problem.priors[k]).logpdf(distinct[k].to_numpy()) for k in keys)
    admitted = distinct["log_posterior"] - log_prior
    model = problem.observation_model
    print("particle | admitted log-lik | mean over fresh seeds | boats 2022 | boats 2023")
    for idx in distinct["log_posterior"].nlargest(args.top).index:  # the point estimate first
        values = {k: float(distinct.at[idx, k]) for k in keys}
        ll, boats = [], []
        for s in range(args.seeds):
            expected = problem.expected(problem.simulate(values, 2000 + s), values)
            ll.append(sum(model.group_log_likelihoods(expected).values()))
            boats.append(expected["small_boat_arrivals_albanian_quarterly"][-8:])
        quarters = np.mean(boats, axis=0)
        print(f"{idx:8d} | {admitted[idx]:16.1f} | {np.mean(ll):21.1f} | {quarters[:4].sum():10,.0f} | {quarters[4:].sum():10,.0f}")


if __name__ == "__main__":
    main()
