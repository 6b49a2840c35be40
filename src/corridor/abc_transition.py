"""A full-rank ABC-SMC proposal kernel.

pyabc's multivariate normal kernel is fitted to the weighted particles of the
last generation. When the effective sample size drops below the number of
calibrated parameters, that covariance is singular and the kernel density of
some proposals is exactly zero, which makes an importance weight infinite and
stops the run ("population total weight nan is not normalized", pyabc issue
#614). A small ridge on the diagonal keeps the kernel full-rank.
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
        self.normal = st.multivariate_normal(cov=self.cov, allow_singular=False)
