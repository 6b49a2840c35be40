"""A full-rank ABC-SMC proposal kernel.

pyabc's multivariate normal kernel is fitted to the weighted particles of the
last generation. When the effective sample size drops below the number of
calibrated parameters, that covariance is singular and the kernel density of
some proposals is exactly zero, which makes an importance weight infinite and
stops the run ("population total weight nan is not normalized", pyabc issue
#614). A small ridge on the diagonal keeps the kernel full-rank. Its density is
computed on the correlation scale: parameters of very different magnitudes (GBP 100
a month and a probability of 0.001) otherwise make scipy judge a full-rank
covariance singular.

Both the kernel's draws and the prior's density are computed with NumPy and closed
forms rather than scipy's frozen distributions: pyabc draws proposals until one has a
positive prior density, and with some thirty parameters, several of them near a bound
of their prior, hundreds of proposals may be drawn for one that is simulated; through
scipy that search cost several times the simulation itself.
"""

import math

import numpy as np
import pyabc
import scipy.stats as st
from pyabc.parameters import Parameter
from scipy.special import betaln

RIDGE = 0.05  # share of each parameter's kernel variance added on the diagonal


class RidgedMultivariateNormalTransition(pyabc.MultivariateNormalTransition):
    def fit(self, X, w) -> None:
        super().fit(X, w)
        variance = np.diag(self.cov)
        floor = np.maximum(variance * RIDGE, 1e-12 * np.maximum(np.abs(self._X_arr).mean(axis=0), 1.0) ** 2)
        self.cov = self.cov + np.diag(floor)
        self.normal = ScaledNormal(self.cov)
        self._chol = np.linalg.cholesky(self.cov)
        self._columns = list(self.X.columns)

    def rvs_single(self) -> Parameter:
        """One proposal: a particle drawn by weight, moved by the kernel (NumPy, no scipy per draw)."""
        row = np.random.choice(self._range, p=self.w)
        moved = self._X_arr[row] + self._chol @ np.random.standard_normal(len(self._columns))
        return Parameter(dict(zip(self._columns, moved.tolist(), strict=True)))


class ScaledNormal:
    """Zero-mean normal density of a covariance, evaluated as a correlation matrix and scales."""

    def __init__(self, cov: np.ndarray):
        self.sd = np.sqrt(np.diag(cov))
        self.standard = st.multivariate_normal(cov=cov / np.outer(self.sd, self.sd), allow_singular=False)
        self.scale = float(np.exp(-np.log(self.sd).sum()))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return self.standard.pdf(np.asarray(x) / self.sd) * self.scale


def _log_density(dist: str, args: tuple, x: float) -> float:
    """Log prior density in closed form (-inf outside the support); ``args`` as in ``Prior.arguments``."""
    if dist == "uniform":
        low, high = args
        return -math.log(high - low) if low <= x <= high else -math.inf
    if dist == "loguniform":
        low, high = args
        return -math.log(x) - math.log(math.log(high / low)) if low <= x <= high else -math.inf
    if dist == "normal":
        mean, sd = args
        return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))
    if dist == "lognormal":
        median, sigma = args
        if x <= 0:
            return -math.inf
        return -0.5 * (math.log(x / median) / sigma) ** 2 - math.log(x * sigma * math.sqrt(2 * math.pi))
    if dist == "beta":
        a, b = args
        if not 0 < x < 1:
            return -math.inf
        return (a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - betaln(a, b)
    raise ValueError(f"a {dist} prior has no closed-form density here")


class OneModel(pyabc.RV):
    """The prior over models when there is one: probability 1 for model 0, asked once per proposal."""

    def __init__(self):
        super().__init__("randint", 0, 1)

    def pmf(self, x, *args, **kwargs) -> float:
        return 1.0 if x == 0 else 0.0


class ClosedFormPrior(pyabc.Distribution):
    """pyabc's product of independent priors, with its density in closed form (draws stay scipy's)."""

    def __init__(self, priors: dict, **rvs):
        super().__init__(**rvs)
        self._closed = {k: (p.dist, p.arguments) for k, p in priors.items()}

    def log_pdf(self, x) -> float:
        total = 0.0
        for key, value in x.items():
            dist, args = self._closed[key]
            total += _log_density(dist, args, float(value))
            if total == -math.inf:
                break
        return total

    def pdf(self, x) -> float:
        if x.keys() != self._closed.keys():
            return super().pdf(x)  # pyabc's own check and message
        return math.exp(self.log_pdf(x))
