"""A reference implementation of the corridor model, written the way a modeller would in Mesa 3.3.

One ``PersonAgent`` (a ``mesa.Agent``) per person, with its own attributes, and a
``step()`` per agent each month in plain Python; households, the origin labour
market, the smuggling market, the gangs, the destination state and the
government are plain model-level objects. It reads the same ``Scenario`` (its
parameters and its ``events``) and produces the same output columns, scaled to
real people the same way, as ``corridor.engine.Simulation``.

It serves two purposes:

* a **speed baseline** (``benchmarks/speed.py``): what the vectorised, numba
  engine is compared with;
* a **statistical oracle** (``tests/test_equivalence.py``): over many seeds its
  outputs must have the same distribution as the engine's.

It shares nothing with the engine but the scenario schema, the state codes and
``corridor.population.build_population`` (so initial conditions are the same in
distribution); its random numbers come from the model's own ``random.Random``.
"""

from benchmarks.reference.model import CorridorModel, run_reference

__all__ = ["CorridorModel", "run_reference"]
