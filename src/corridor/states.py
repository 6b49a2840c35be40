"""Life-course states of a person (docs/odd.md, "State variables").

A person is an index; their state is one int8 in ``Population.state``. Every
person slot is in exactly one state, so the stocks of all states except
``UNBORN`` add up to every person the model has ever held (conservation).
"""

from enum import IntEnum

import numpy as np


class State(IntEnum):
    UNBORN = 0  # reserved slot for a birth scheduled later in the horizon
    AT_ORIGIN = 1
    IN_TRANSIT = 2
    IN_CARE = 3  # unaccompanied minor in local-authority care
    MISSING_FROM_CARE = 4
    ASYLUM_PENDING = 5
    UNDOCUMENTED = 6  # refused or never claimed; informal work (car wash)
    LEGAL_RESIDENT = 7  # granted asylum, leave via family, or sponsored
    CRIMINAL_EXPLOITATION = 8
    IN_PRISON = 9
    EMIGRATED_ELSEWHERE = 10  # left for another destination (EU)
    DEAD_IN_TRANSIT = 11
    DEAD_OTHER = 12


N_STATES = len(State)
COUNTED_STATES = [s for s in State if s != State.UNBORN]
# the output column of each state's stock (persons in the state at the end of the month)
STOCK_OUTPUTS = {
    State.AT_ORIGIN: ("at_origin", "persons living at origin"),
    State.IN_TRANSIT: ("in_transit", "persons on the way to the UK"),
    State.IN_CARE: ("minors_in_care", "unaccompanied minors in local-authority care"),
    State.MISSING_FROM_CARE: ("missing_from_care", "children missing from care"),
    State.ASYLUM_PENDING: ("asylum_pending", "adults waiting for an asylum decision"),
    State.UNDOCUMENTED: ("undocumented", "persons without leave to remain (refused, or never claimed)"),
    State.LEGAL_RESIDENT: ("legal_residents", "persons with leave to remain (granted, family, sponsored)"),
    State.CRIMINAL_EXPLOITATION: ("in_criminal_exploitation", "persons working for gangs in the drug trade"),
    State.IN_PRISON: ("prison_population", "persons in UK prisons"),
    State.EMIGRATED_ELSEWHERE: ("living_elsewhere", "emigrants living in a country other than the UK"),
    State.DEAD_IN_TRANSIT: ("dead_in_transit", "persons who died on the way, since 2012 (cumulative)"),
    State.DEAD_OTHER: ("dead_other", "persons who died of other causes, since 2012 (cumulative)"),
}
assert set(STOCK_OUTPUTS) == set(COUNTED_STATES)
STOCK_COLUMNS = [STOCK_OUTPUTS[s][0] for s in COUNTED_STATES]

# states of a person who is in the UK (for ties abroad, remittances, removal)
IN_UK = (
    State.IN_CARE,
    State.MISSING_FROM_CARE,
    State.ASYLUM_PENDING,
    State.UNDOCUMENTED,
    State.LEGAL_RESIDENT,
    State.CRIMINAL_EXPLOITATION,
    State.IN_PRISON,
)
# the UK states are one range of codes, so passes test them with two comparisons
UK_FIRST, UK_LAST = min(IN_UK), max(IN_UK)
assert set(IN_UK) == set(range(UK_FIRST, UK_LAST + 1))
ALIVE = (State.AT_ORIGIN, State.IN_TRANSIT, *IN_UK, State.EMIGRATED_ELSEWHERE)


def state_flags(*states) -> "np.ndarray":
    """A lookup table: ``state_flags(A, B)[state_array]`` is a mask, faster than np.isin."""
    flags = np.zeros(N_STATES, dtype=bool)
    flags[list(states)] = True
    return flags


IS_IN_UK = state_flags(*IN_UK)

# asylum status, independent of the life-course state
ASYLUM_NONE, ASYLUM_PENDING, ASYLUM_GRANTED, ASYLUM_REFUSED = 0, 1, 2, 3

ROUTES = ("lorry", "small_boat")
# how a person left the UK for Albania (Population.return_kind; 0: never returned)
RETURN_KINDS = ("none", "fast_track", "enforced", "offender", "voluntary", "resident")
REGIONS = ("north", "tirana_durres", "centre_south")
