"""The diagnostic scripts behind figures of docs/calibration.md: what they write is what
corridor reads, and bad input is refused in one line."""

import numpy as np
import pytest

from corridor.calibration import load_posterior, weighted_quantile
from corridor.errors import CorridorInputError
from scripts.lever_check import components
from scripts.pin_posterior import pin


def test_a_pinned_posterior_holds_the_source_medians_and_loads_as_a_complete_calibration(tmp_path):
    out = tmp_path / "pinned"
    pin("until-2020", "all-years", out, "returns_agreement")
    pinned, meta = load_posterior(str(out))  # the rewritten manifest passes corridor's own check
    original, _ = load_posterior("until-2020")
    source, _ = load_posterior("all-years")
    for column in [c for c in pinned.columns if "returns_agreement" in c]:
        median = weighted_quantile(source[column].to_numpy(), source["weight"].to_numpy(), 0.5)
        assert np.all(pinned[column] == median) and original[column].nunique() > 1
    others = [c for c in pinned.columns if "returns_agreement" not in c]
    assert pinned[others].equals(original[others])
    assert meta["pinned_for_diagnosis"]["from"] == "all-years"


def test_the_diagnostic_scripts_refuse_bad_input(tmp_path):
    with pytest.raises(CorridorInputError, match="no parameter"):
        pin("until-2020", "all-years", tmp_path / "a", "no_such_parameter")
    with pytest.raises(CorridorInputError, match="exists"):
        pin("until-2020", "all-years", tmp_path, "returns_agreement")
    with pytest.raises(CorridorInputError, match="out of bounds"):
        components("policy.returns_agreement_claim_multiplier", -5.0, 1, 1000, ("2023",))
