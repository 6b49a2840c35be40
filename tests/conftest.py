import functools

import pytest

from corridor.engine import Simulation
from corridor.scenario import Prior, load_scenario

AGENTS = 40_000  # large enough that policy effects show through common random numbers


@functools.cache
def scenario(name: str):
    return load_scenario(name)


@functools.cache
def simulate(name: str, seed: int = 11, agents: int = AGENTS, overrides: tuple = ()):
    """Series of a bundled scenario, optionally with parameter overrides (cached per session)."""
    sc = scenario(name)
    if overrides:
        sc = sc.with_values(dict(overrides))
    return Simulation(sc, agents=agents, seed=seed).run()


@pytest.fixture(scope="session")
def baseline():
    return simulate("albania-uk")


# The calibrated model leaves few departures after 2024 (the deterrence of the returns
# agreement holds), too few at test sizes for a policy of 2025 to act on. Tests of such
# policies weaken that response in both arms: they check a mechanism's direction, not a level.
ACTIVE_AFTER_2024 = (("destination.b_perceived_return", 1.0),)


@pytest.fixture(scope="session")
def active_baseline():
    return simulate("albania-uk", overrides=ACTIVE_AFTER_2024)


def total(results, column, since="2012-01", until="2030-12"):
    s = results.series
    window = s[(s["month"] >= since) & (s["month"] <= until)]
    return float(window[column].sum())


def write_short_scenario(path, until=2016, name="short"):
    """The default scenario cut at December of ``until`` (later events dropped), as a YAML file: cheap runs."""
    import yaml

    from corridor.calibration import truncate

    short = truncate(scenario("albania-uk"), until).model_dump(mode="json")
    short.update(name=name, description="the default corridor, cut short for tests")
    path.write_text(yaml.safe_dump(short))
    return path


# a variant of the short scenario: lorry crossings at GBP 4,000 from 2013 (a policy with a clear effect)
CHEAP_LORRY = (
    "name: cheap-lorry\nextends: short.yaml\ndescription: lorry crossings at GBP 4,000 from 2013\n"
    "events:\n  - {id: cheap, month: 2013-01, set: {smuggling.lorry_base_price_gbp: 4000}, note: price war}\n"
)


# one prior of each kind a scenario may give (for the samplers' prior densities and transforms)
PRIORS_OF_EVERY_KIND = {
    "a": Prior(dist="uniform", low=1, high=3),
    "b": Prior(dist="loguniform", low=0.01, high=2),
    "c": Prior(dist="normal", mean=1, sd=2),
    "d": Prior(dist="lognormal", median=3, sigma=0.5),
    "e": Prior(dist="beta", a=2, b=5),
}
