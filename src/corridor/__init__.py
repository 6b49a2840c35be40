"""corridor: a simulator of irregular-migration corridors (default: northern Albania -> UK)."""

__version__ = "0.1.0"


def __getattr__(name):
    # lazy imports keep `corridor --help` fast (numba compiles on first use)
    if name in ("Simulation", "run"):
        from corridor import engine

        return getattr(engine, name)
    if name in ("Scenario", "load_scenario"):
        from corridor import scenario

        return getattr(scenario, name)
    raise AttributeError(name)


__all__ = ["Simulation", "run", "Scenario", "load_scenario", "__version__"]
