"""pyabc pieces of the likelihood-based calibration: the acceptance kernel and the temperature plan.

Kept apart from ``corridor.calibration`` so that importing the package does not import
pyabc (seconds); both are used only when a calibration runs.
"""

from __future__ import annotations

import numpy as np
import pyabc

from corridor.calibration import log_likelihood
from corridor.observed import ObservationModel


class ObservationKernel(pyabc.distance.StochasticKernel):
    """pyabc acceptance kernel: log p(observed | expected observed values of a particle's runs)."""

    def __init__(self, model: ObservationModel):
        super().__init__(ret_scale=pyabc.distance.SCALE_LOG, keys=sorted(model.fitted))
        self.model = model

    def __call__(self, x: dict, x_0: dict, t: int | None = None, par: dict | None = None) -> float:
        return log_likelihood(self.model, {k: x[k] for k in self.keys})


class GeometricDescentToOne(pyabc.ExpDecayFixedIterScheme):
    """pyabc's geometric descent to 1 at the last generation, and 1 from there on (pyabc divides by zero)."""

    def __call__(self, **kwargs):
        if kwargs["max_nr_populations"] - kwargs["t"] <= 1:
            return 1.0
        return super().__call__(**kwargs)


class IncrementEssScheme(pyabc.epsilon.TemperatureScheme):
    """The lowest temperature at which the step from the last population's temperature keeps a
    conditional effective sample (CESS; Zhou, Johansen and Aston 2016) of ``target_relative_ess``:
    adaptive tempering, as in SMC samplers.

    The single-run likelihood varies between seeds by several log-units; lowering the
    temperature faster than that spread allows leaves a few lucky runs carrying all the
    weight. The CESS measures what the step itself does to the weights,
    ``(sum W_i u_i)^2 / sum W_i u_i^2`` with ``W`` the population's normalised weights and
    ``u_i`` the increment of its likelihood factor; the plain ESS of the reweighted population
    would also count the spread of the importance weights (prior over proposal), which in
    some thirty dimensions is large whatever the temperature, and would hold it for ever."""

    def __init__(self, target_relative_ess: float = 0.3):
        self.target_relative_ess = target_relative_ess

    def __call__(self, **kwargs):
        previous = kwargs["prev_temperature"]
        if previous is None:
            return np.inf
        df = kwargs["get_weighted_distances"]()
        w = np.asarray(df["w"], float)
        w = w / w.sum()
        log_lik = np.asarray(df["distance"], float)
        log_lik = np.where(np.isfinite(log_lik), log_lik - np.max(log_lik[np.isfinite(log_lik)]), -np.inf)
        beta0 = 1.0 / previous

        def relative_ess(beta: float) -> float:
            u = np.exp((beta - beta0) * log_lik)
            return float((w @ u) ** 2 / (w @ (u * u)))

        if relative_ess(1.0) >= self.target_relative_ess:
            return 1.0
        lo, hi = beta0, 1.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if relative_ess(mid) >= self.target_relative_ess else (lo, mid)
        return 1.0 / lo

    def requires_distances(self) -> bool:
        return True


class PlannedTemperature(pyabc.Temperature):
    """The temperature of each generation: a geometric descent to 1 over the whole calibration, held up
    where the predicted acceptance rate would fall below ``min_acceptance_rate`` or reweighting would
    leave an effective sample under ``min_relative_ess`` of the population.

    ``calibrate`` runs each generation from a fresh ``ABCSMC`` loaded from the database (to
    resume exactly); pyabc would take each call as the last and jump to T = 1, so the plan
    is kept over the total number of generations and continues from the stored
    temperatures (``restore``). A fresh generation knows the previous one's accepted
    particles only, not its rejected proposals, so the acceptance rate is predicted from
    those and is optimistic where the single-run likelihood is noisy (the accepted runs
    are the lucky ones); the effective-sample hold uses the previous population as is.
    Everything the plan uses is in the database, so a resumed calibration plans exactly as
    an uninterrupted one. At the last generation the temperature is 1 (exact
    inference) unless either hold applies there: then it stays above 1, the posterior is the tempered one (wider than the exact
    one) and the calibration's meta.json says so; rerunning with more generations resumes
    the descent."""

    def __init__(self, generations: int, min_acceptance_rate: float = 0.05, min_relative_ess: float = 0.3):
        super().__init__(
            schemes=[
                pyabc.AcceptanceRateScheme(target_rate=min_acceptance_rate),
                IncrementEssScheme(min_relative_ess),
                GeometricDescentToOne(),
            ],
            aggregate_fun=max,
            enforce_exact_final_temperature=False,
        )
        self.generations = generations

    def restore(self, history) -> None:
        """Take the temperatures of the generations stored in a pyabc history (a calibration
        runs each generation from a fresh ``ABCSMC`` loaded from its database)."""
        pops = history.get_all_populations()
        self.temperatures = {int(t): float(e) for t, e in zip(pops["t"], pops["epsilon"], strict=True) if t >= 0}

    def initialize(self, t, get_weighted_distances, get_all_records, max_nr_populations, acceptor_config):
        if t in self.temperatures:
            # planned after the previous generation from all its proposals; a new ``run`` call would
            # re-plan it from the accepted particles alone and overrate the acceptance rate
            self.max_nr_populations = self.generations
            return
        super().initialize(t, get_weighted_distances, get_all_records, self.generations, acceptor_config)
