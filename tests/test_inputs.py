"""Bad input is refused with one line naming the field and the fix, exit code 2."""

import subprocess
import sys
import textwrap

import pytest

from corridor.errors import CorridorInputError
from corridor.scenario import load_scenario


def _write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _variant(tmp_path, body):
    """A variant of the default scenario with the given YAML body (parameters or events)."""
    return _write(tmp_path, "name: variant\nextends: albania-uk\ndescription: a test variant\n" + textwrap.dedent(body))


def _refused(path, *fragments):
    with pytest.raises(CorridorInputError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file_is_refused(tmp_path):
    _refused(tmp_path / "nope.yaml", "nope.yaml", "not found")


def test_unknown_scenario_name_lists_the_bundled_ones():
    _refused("no-such-scenario", "not found", "albania-uk")


def test_malformed_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, "name: x\nparameters: {smuggling: [\n")
    _refused(path, "malformed YAML", "line")


def test_unknown_parameter_is_refused(tmp_path):
    path = _variant(
        tmp_path,
        """
        parameters:
          smuggling:
            lory_base_price_gbp: {value: 100, prior: {dist: fixed}, source: "assumption: test"}
        """,
    )
    _refused(path, "parameters.smuggling.lory_base_price_gbp", "spelling")


def test_unknown_top_level_key_is_refused(tmp_path):
    path = _write(tmp_path, "name: x\nextends: albania-uk\ndescription: d\nhorizon: 12\n")
    _refused(path, "horizon", "remove it")


def test_out_of_bounds_value_names_the_bounds(tmp_path):
    path = _variant(
        tmp_path,
        """
        parameters:
          smuggling:
            lorry_base_price_gbp: {value: -5}
        """,
    )
    _refused(path, "parameters.smuggling.lorry_base_price_gbp", "-5", "out of bounds", "[100, 100000]")


def test_a_prior_reaching_outside_the_bounds_is_refused(tmp_path):
    """A calibration would draw values the schema refuses: half its draws wasted, and a prior
    fitted other than the one written."""
    path = _variant(
        tmp_path,
        """
        parameters:
          smuggling:
            lorry_base_price_gbp: {prior: {dist: uniform, low: 50, high: 500}}
        """,
    )
    _refused(path, "parameters.smuggling.lorry_base_price_gbp", "uniform [50.0, 500.0]", "[100, 100000]", "inside them")


def test_event_outside_the_horizon_is_refused(tmp_path):
    path = _variant(
        tmp_path,
        """
        events:
          - {id: late, month: 2031-05, set: {policy.returns_agreement: 1}}
        """,
    )
    _refused(path, "events", "2031-05", "outside the horizon", "move it inside")


def test_event_setting_an_unknown_parameter_is_refused(tmp_path):
    path = _variant(
        tmp_path,
        """
        events:
          - {id: bad, month: 2020-05, set: {policy.returns_deal: 1}}
        """,
    )
    _refused(path, "policy.returns_deal", "unknown parameter")


def test_event_with_impossible_value_is_refused(tmp_path):
    path = _variant(
        tmp_path,
        """
        events:
          - {id: bad, month: 2020-05, set: {policy.ad_takedown_share: 1.5}}
        """,
    )
    _refused(path, "ad_takedown_share", "1.5", "[0, 1]")


def test_source_must_be_traceable(tmp_path):
    path = _variant(
        tmp_path,
        """
        parameters:
          smuggling:
            lorry_base_price_gbp: {value: 9000, source: "my uncle said so"}
        """,
    )
    _refused(path, "source", "assumption:")


def test_bad_month_format_is_refused(tmp_path):
    path = _write(tmp_path, "name: x\nextends: albania-uk\ndescription: d\nend: 2030/12\n")
    _refused(path, "end", "YYYY-MM")


def test_extends_cycle_is_refused(tmp_path):
    _write(tmp_path, "name: a\nextends: b.yaml\ndescription: d\n", "a.yaml")
    _write(tmp_path, "name: b\nextends: a.yaml\ndescription: d\n", "b.yaml")
    _refused(tmp_path / "a.yaml", "cycle")


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "corridor", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cli_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    path = _variant(
        tmp_path,
        """
        parameters:
          smuggling:
            lorry_base_price_gbp: {value: -5}
        """,
    )
    for args in (("run", str(path), "--agents", "1000", "--out", str(tmp_path / "o")), ("scenarios", "validate", str(path))):
        proc = _cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and "lorry_base_price_gbp" in lines[0], proc.stderr
    assert not (tmp_path / "o" / "series.parquet").exists()


def test_cli_missing_file_exits_2(tmp_path):
    proc = _cli("scenarios", "validate", str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_impossible_option_exits_2(tmp_path):
    proc = _cli("run", "--agents", "5", "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr



def test_unknown_parameter_set_by_value_alone_is_refused_as_unknown(tmp_path):
    """An override of a misspelt or retired parameter names it as unknown, not as lacking a prior."""
    path = _variant(
        tmp_path,
        """
        parameters:
          family:
            max_monthly_leave_probability: {value: 0.3}
        """,
    )
    message = _refused(path, "parameters.family.max_monthly_leave_probability", "not a parameter", "spelling")
    assert "prior" not in message
