"""The mechanisms of MODEL.md, one module each, in the order the engine runs them."""

from corridor.mechanisms.demography import Demography
from corridor.mechanisms.m01_origin_economy import OriginEconomy
from corridor.mechanisms.m02_network import Network
from corridor.mechanisms.m03_remittance_display import RemittanceDisplay
from corridor.mechanisms.m04_social_media_lure import SocialMediaLure
from corridor.mechanisms.m05_family_decision import FamilyDecision
from corridor.mechanisms.m06_smuggling import Smuggling
from corridor.mechanisms.m07_exploitation import Exploitation
from corridor.mechanisms.m08_destination_state import DestinationState
from corridor.mechanisms.m09_remittances import Remittances
from corridor.mechanisms.m10_family_reunification import FamilyReunification
from corridor.mechanisms.m11_policy import Policy

# order matters only within a month: policy before the economy it changes, the
# decision (M5) before the crossing (M6), arrivals placed (M8) before gangs
# recruit among them (M7), and remittances (M9) last, seen by next month's M2/M3.
MECHANISMS = (
    Demography,
    Policy,
    OriginEconomy,
    Network,
    RemittanceDisplay,
    SocialMediaLure,
    FamilyDecision,
    Smuggling,
    DestinationState,
    Exploitation,
    FamilyReunification,
    Remittances,
)
PARAMETER_MODELS = {m.name: m.Params for m in MECHANISMS}
