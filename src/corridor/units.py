"""Parameter types with their unit, and the one place where time units are converted.

A parameter's type says what kind of number it is: a probability per month, a
hazard per year, a growth rate per year, an amount of money, a count, a switch,
a category. The type carries its unit (shown by ``corridor scenarios show``, the
parameter documentation and the web editor) and refuses values of another kind
(a boolean where a number is expected, a fraction where a count is expected).
Rates given per year are converted to the monthly step by the functions at the
end of this module and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from corridor.states import REGIONS


@dataclass(frozen=True)
class Unit:
    """Schema metadata: the unit of a parameter, as a reader should see it."""

    text: str

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        if self.text:
            schema["unit"] = self.text
        return schema


def _not_a_switch(value):
    # pydantic would read true as 1.0: a switch where a number belongs is a mistake in the file
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean (true/false); write a number")
    return value


def _number(unit: str):
    return Annotated[float, BeforeValidator(_not_a_switch), Unit(unit)]


def _whole(unit: str):
    return Annotated[int, BeforeValidator(_not_a_switch), Unit(unit)]


Real = _number("")
LogOdds = _number("log-odds")
Multiplier = _number("multiplier")
Share = _number("share (0-1)")
Probability = _number("probability")
ProbabilityPerMonth = _number("probability per month")
HazardPerYear = _number("probability per year")  # converted by monthly_probability
GrowthPerYear = _number("growth per year")  # converted by growth_factor
GBP = _number("GBP")
GBPPerMonth = _number("GBP per month")
EURPerMonth = _number("EUR per month")
Persons = _number("persons")
Years = _number("years")
Months = _number("months")
WholeMonths = _whole("months")
Count = _whole("count")
Index = _number("index, 1 = reference level")
Switch = Annotated[bool, Unit("switch: true or false")]
Region = Annotated[Literal[REGIONS], Unit("region")]  # type: ignore[valid-type]


def unit_of(field) -> str:
    """The unit declared in a pydantic field's type ('' if none)."""
    return next((m.text for m in field.metadata if isinstance(m, Unit)), "")


def bounded(low=None, high=None, description: str = ""):
    """A pydantic Field with inclusive bounds (the schema's bounds, shown to users)."""
    return Field(ge=low, le=high, description=description or None)


# ---------------------------------------------------------------- conversions


def monthly_probability(per_year: float) -> float:
    """The monthly probability of an event that has probability ``per_year`` within a year."""
    return 1.0 - (1.0 - per_year) ** (1 / 12)


def growth_factor(per_year: float, months: float) -> float:
    """How much a quantity growing by ``per_year`` a year has grown after ``months`` months."""
    return (1 + per_year) ** (months / 12.0)


def decay_factor(per_year: float) -> float:
    """The share of a quantity left after one month, if ``per_year`` of it is lost in a year."""
    return (1.0 - per_year) ** (1 / 12)


REGION_INDEX = {name: i for i, name in enumerate(REGIONS)}
