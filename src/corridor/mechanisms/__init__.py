"""The mechanisms of docs/odd.md, one module each, in the order the engine runs them.

Each module declares what it owns and reads (see base.py); the order below is
checked against those declarations when a simulation starts (corridor.wiring):
policy before the economy it changes, the family decision (M5) before the
crossing (M6), arrivals placed (M8) before gangs recruit among them (M7), and
remittances (M9) last, seen by next month's network (M2) and display (M3).
docs/architecture.md shows the resulting data flow.
"""

from corridor.mechanisms.demography import Demography
from corridor.mechanisms.destination import Destination
from corridor.mechanisms.exploitation import Exploitation
from corridor.mechanisms.family import Family
from corridor.mechanisms.network import Network
from corridor.mechanisms.origin_economy import OriginEconomy
from corridor.mechanisms.policy import Policy
from corridor.mechanisms.remittance_display import RemittanceDisplay
from corridor.mechanisms.remittances import Remittances
from corridor.mechanisms.reunification import Reunification
from corridor.mechanisms.smuggling import Smuggling
from corridor.mechanisms.social_media import SocialMedia

MECHANISMS = (
    Demography,
    Policy,
    OriginEconomy,
    Network,
    RemittanceDisplay,
    SocialMedia,
    Family,
    Smuggling,
    Destination,
    Exploitation,
    Reunification,
    Remittances,
)
PARAMETER_MODELS = {m.name: m.Params for m in MECHANISMS}
