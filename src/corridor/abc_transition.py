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
"""

import numpy as np
import pyabc
import scipy.stats as st

RIDGE = 0.05  # share of each parameter's kernel variance added on the diagonal


class RidgedMultivariateNormalTransition(pyabc.MultivariateNormalTransition):
    def fit(self, X, w) -> None:
        super().fit(X, w)
        variance = np.diag(self.cov)
        floor = np.maximum(variance * RIDGE, 1e-12 * np.maximum(np.abs(self._X_arr).mean(axis=0), 1.0) ** 2)
        self.cov = self.cov + np.diag(floor)
        self.normal = ScaledNormal(self.cov)


class ScaledNormal:
    """Zero-mean normal density of a covariance, evaluated as a correlation matrix and scales."""

    def __init__(self, cov: np.ndarray):
        self.sd = np.sqrt(np.diag(cov))
        self.standard = st.multivariate_normal(cov=cov / np.outer(self.sd, self.sd), allow_singular=False)
        self.scale = float(np.exp(-np.log(self.sd).sum()))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return self.standard.pdf(np.asarray(x) / self.sd) * self.scale
