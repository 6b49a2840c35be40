"""Mechanisms touch only what they declare, and the declared data flow is checked.

A reader of one mechanism sees what it owns and reads; these tests make sure the
declarations are true (strict mode checks every access) and that contradictory
ones are refused when a simulation starts.
"""

import ast
import dataclasses
from pathlib import Path

import pytest

import corridor.mechanisms as mechanisms_package
from corridor import engine
from corridor.architecture import architecture
from corridor.context import DeclarationError
from corridor.engine import POPULATION_FIELDS, Simulation
from corridor.mechanisms import MECHANISMS, PARAMETER_MODELS
from corridor.mechanisms.base import PersonArrays, Phase, Provides, Reads
from corridor.mechanisms.destination import Destination
from corridor.mechanisms.exploitation import Exploitation
from corridor.mechanisms.network import Network
from corridor.mechanisms.remittances import Remittances
from corridor.scenario import bundled_names
from corridor.wiring import check_wiring
from tests.conftest import scenario

MECHANISMS_DIR = Path(mechanisms_package.__file__).parent
ROOT = Path(__file__).resolve().parents[1]


def _check(mechanisms):
    return check_wiring(mechanisms, POPULATION_FIELDS, PARAMETER_MODELS, engine.ENGINE_OUTPUTS)


@pytest.mark.parametrize("name", bundled_names())
def test_every_scenario_runs_in_strict_mode(name):
    """Strict mode refuses any undeclared read or write: every mechanism keeps to its declarations."""
    res = Simulation(scenario(name), agents=2_000, seed=3, strict=True).run()
    assert res.series["departures"].sum() > 0


def test_strict_mode_catches_a_read_that_is_not_declared(monkeypatch):
    monkeypatch.setattr(Network, "reads", (Reads("young_men", Phase.BEGIN),))  # household_in_uk undeclared
    with pytest.raises(DeclarationError, match="household_in_uk"):
        Simulation(scenario("albania-uk"), agents=2_000, seed=3, strict=True).run()


def test_strict_mode_catches_a_write_to_a_person_array_that_is_not_declared(monkeypatch):
    undeclared = PersonArrays(reads=(*Remittances.persons.reads, "household_savings_gbp"))  # read, not written
    monkeypatch.setattr(Remittances, "persons", undeclared)
    with pytest.raises(DeclarationError, match="household_savings_gbp"):
        Simulation(scenario("albania-uk"), agents=2_000, seed=3, strict=True).run()


def test_a_read_of_what_nobody_provides_is_refused(monkeypatch):
    monkeypatch.setattr(Network, "reads", (*Network.reads, Reads("no_such_aggregate", Phase.BEGIN)))
    with pytest.raises(DeclarationError, match="no mechanism provides"):
        _check(MECHANISMS)


def test_two_owners_of_one_aggregate_are_refused(monkeypatch):
    monkeypatch.setattr(Exploitation, "provides", (*Exploitation.provides, Provides("uk_persons", Phase.STEP, "")))
    with pytest.raises(DeclarationError, match="provided by both"):
        _check(MECHANISMS)


def test_an_order_that_contradicts_a_same_month_read_is_refused():
    """Gangs recruit among this month's arrivals as placed by the destination state: moving
    exploitation (M7) before destination (M8) would make it read last month's list."""
    order = list(MECHANISMS)
    i, j = order.index(Destination), order.index(Exploitation)
    order[i], order[j] = order[j], order[i]
    with pytest.raises(DeclarationError, match="uk_persons"):
        _check(order)


def test_the_bundled_order_satisfies_every_declaration():
    w = _check(MECHANISMS)
    assert w.owner["route_price_gbp"] == "smuggling" and ("family", Phase.STEP, 0) in w.readers["route_price_gbp"]
    assert ("social_media", Phase.BEGIN, 1) in w.readers["gang_demand_index"]  # the lure follows last month's demand


def test_no_mechanism_touches_the_simulation_object():
    """Mechanisms see a Context; they never reach the Simulation or hang attributes on their context."""
    for path in MECHANISMS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Name) and node.id == "sim"), f"{path.name}:{node.lineno} uses sim"
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    direct = isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    assert not (direct and target.value.id == "ctx"), f"{path.name}:{node.lineno} assigns to ctx"


def test_one_name_per_mechanism():
    for cls in MECHANISMS:
        module = cls.__module__.rsplit(".", 1)[-1]
        assert module == cls.name, cls
        assert cls.__name__ == "".join(w.capitalize() for w in cls.name.split("_")), cls
        assert cls.Params.__name__ == cls.__name__ + "Params"


def test_outputs_declare_their_kind_and_unit():
    sim = Simulation(scenario("albania-uk"), agents=500, seed=1)
    for name, o in sim.outputs.items():
        assert o.kind in ("flow", "stock", "level") and o.unit and o.description, name
    res = sim.run()
    assert set(res.manifest["outputs"]) == set(res.series.columns) - {"month"}
    assert "corridor_version" not in res.manifest and res.manifest["version"]


def test_docs_architecture_is_generated_from_the_declarations():
    assert (ROOT / "docs" / "architecture.md").read_text() == architecture(), (
        "docs/architecture.md is out of date: python -m corridor.architecture > docs/architecture.md"
    )


def test_every_population_field_is_used_by_someone_or_is_structure():
    used = {a for cls in MECHANISMS for a in cls.persons.used}
    unused = set(POPULATION_FIELDS) - used
    # fields only the builder and the recorder need
    assert unused <= {"household_region", "tie_ptr", "tie_idx", "death_month"} | used, unused
    assert dataclasses.is_dataclass(engine.Population)


def test_docs_parameters_is_generated_from_the_default_scenario():
    from corridor.paramdoc import parameter_table_markdown
    from corridor.scenario import load_scenario

    written = (ROOT / "docs" / "parameters.md").read_text()
    assert written.strip() == parameter_table_markdown(load_scenario("albania-uk")).strip(), (
        "docs/parameters.md is out of date: python -m corridor.paramdoc albania-uk > docs/parameters.md"
    )
