"""Is the point estimate the luck of its run? The distinct particles of highest prior x likelihood
of a tempered SMC posterior, each rerun on fresh seeds (``corridor.calibration.recheck_point_estimate``):
the log-likelihood they were admitted with against their mean over the fresh runs, the boat
arrivals they make in 2022 and 2023 (expected counts, as fitted), and the best on the fresh runs.
Behind docs/calibration.md, "The default run is one particle" (about 40 s at 20,000 agents).

    python scripts/point_estimate_check.py [--posterior all-years] [--top 20] [--seeds 8]
"""

from __future__ import annotations

import argparse

import numpy as np

from corridor.calibration import build_problem, load_posterior, recheck_point_estimate

BOATS = "small_boat_arrivals_albanian_quarterly"  # 2022-2023 by quarter, expected counts as fitted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posterior", default=None, help="calibration folder or shipped name (default all-years)")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()
    posterior, meta = load_posterior(args.posterior)
    problem = build_problem(meta.get("scenario", "albania-uk"), int(meta.get("until", 2023)))
    chosen = recheck_point_estimate(posterior, problem, args.top, args.seeds, keep=(BOATS,))
    print("particle | admitted log-lik | mean over fresh seeds (sd) | boats 2022 | boats 2023")
    for c in chosen["candidates"]:  # in order of admitted prior x likelihood; the point estimate first
        quarters = np.asarray(c["mean_expected"][BOATS])[-8:]
        mark = "  <- best on fresh seeds" if c["particle"] == chosen["particle"] else ""
        print(f"{c['particle']:8d} | {c['admitted_log_likelihood']:16.1f} | {c['mean_log_likelihood']:10.1f} ({c['sd_log_likelihood']:4.1f}) "
              f"| {quarters[:4].sum():10,.0f} | {quarters[4:].sum():10,.0f}{mark}")


if __name__ == "__main__":
    main()
