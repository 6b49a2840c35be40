"""The workbench's HTTP API (`corridor serve`), driven through the ASGI test client.

Runs here are small (a thousand agents or fewer) so that the suite stays quick;
each job still goes through a real worker process, as it does in the server.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest
from pydantic import BaseModel

from corridor.exports import significant
from corridor.mechanisms import PARAMETER_MODELS
from corridor.scenario import load_scenario
from corridor.web import editor, library
from corridor.web.app import create_app

with warnings.catch_warnings():  # newer starlette prefers httpx2; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SMALL = 1000


def wait(client, run_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{run_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {run_id} did not finish in {timeout} s")


def submit(client, **request) -> dict:
    answer = client.post("/api/jobs", json=request)
    assert answer.status_code == 202, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def client(runs_dir):
    with TestClient(create_app(runs_dir, slots=2, capacity=8)) as c:
        yield c


@pytest.fixture(scope="module")
def quick_run(client):
    """One finished quick run with life events, shared by the tests that read results."""
    edit = {"base": "albania-uk", "values": {"smuggling.small_boat_base_price_gbp": 1500}}
    job = submit(client, kind="run", scenario=edit, agents=SMALL, seed=3, life_events=True)
    assert wait(client, job["id"])["status"] == "done"
    return job["id"]


# ---------------------------------------------------------------- pages


def test_the_page_and_plotly_are_served_by_the_server_itself(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/plotly.min.js">' in page.text
    for asset in ("/static/app.js", "/static/app.css", "/static/index.html"):
        assert "https://" not in client.get(asset).text  # nothing is fetched from another host
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert len(plotly.content) > 1_000_000 and b"plotly" in plotly.content[:2000].lower()


def test_info_names_the_limits_and_the_shipped_posteriors(client):
    info = client.get("/api/info").json()
    assert "all-years" in info["posteriors"] and info["queue_capacity"] == 8
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert "albania-uk" in names and "no-returns-agreement" in names


# ---------------------------------------------------------------- the editor


def test_every_parameter_gets_a_control_with_the_bounds_of_its_schema_and_its_source(client):
    view = client.get("/api/scenarios/albania-uk").json()
    shown = {p["key"]: p for m in view["modules"] for p in m["parameters"]}
    expected = {f"{m}.{n}" for m, model in PARAMETER_MODELS.items() for n in model.model_fields}
    assert set(shown) == expected
    scenario = load_scenario("albania-uk")
    for key, p in shown.items():
        module, name = key.split(".", 1)
        schema = PARAMETER_MODELS[module].model_json_schema()["properties"][name]
        assert p.get("minimum") == schema.get("minimum") and p.get("maximum") == schema.get("maximum")
        assert p["source"] == scenario.parameters[module][name].source
        assert p["value"] == scenario.parameters[module][name].value
    price = shown["smuggling.lorry_base_price_gbp"]
    assert (price["control"], price["minimum"], price["maximum"], price["unit"]) == ("number", 100, 100_000, "GBP")
    assert "returns-agreement" in shown["policy.returns_agreement"]["events"]
    assert shown["policy.returns_agreement"]["control"] == "boolean"  # a switch, not a number
    region = shown["policy.investment_region"]
    assert region["control"] == "category" and region["options"] == ["north", "tirana_durres", "centre_south"]


def test_booleans_integers_and_categories_each_get_their_own_control():
    class Typed(BaseModel):
        open_route: bool
        months: int
        region: Literal["north", "tirana_durres", "centre_south"]
        price_gbp: float

    props = Typed.model_json_schema()["properties"]
    kinds = {name: editor._control(prop)["control"] for name, prop in props.items()}
    assert kinds == {"open_route": "boolean", "months": "integer", "region": "category", "price_gbp": "number"}
    assert editor._control(props["region"])["options"] == ["north", "tirana_durres", "centre_south"]


def test_an_out_of_range_value_is_refused_with_the_message_of_the_command_line(client, tmp_path):
    edit = {"base": "albania-uk", "values": {"smuggling.lorry_base_price_gbp": -5}}
    answer = client.post("/api/scenario/check", json=edit).json()
    assert answer["ok"] is False and answer["field"] == "smuggling.lorry_base_price_gbp"
    # the same edit written as the YAML file the page downloads, given to `corridor run`
    good = client.post("/api/scenario/check", json={**edit, "values": {"smuggling.lorry_base_price_gbp": 9000}}).json()
    (tmp_path / "albania-uk-edited.yaml").write_text(good["yaml"].replace("value: 9000", "value: -5"))
    cli = subprocess.run(
        [sys.executable, "-m", "corridor", "run", "albania-uk-edited.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"error: {answer['error']}"
    assert client.post("/api/jobs", json={"kind": "run", "scenario": edit}).status_code == 400


def test_an_edited_scenario_round_trips_to_a_yaml_file_that_corridor_run_accepts(client, tmp_path):
    base = client.get("/api/scenarios/albania-uk").json()
    events = [dict(e) for e in base["events"] if e["id"] != "tiktok-ads-2023"]  # removed
    moved = next(e for e in events if e["id"] == "returns-agreement")
    moved["month"] = "2019-06"
    events.append({"id": "price-war", "month": "2024-01", "set": {"smuggling.small_boat_base_price_gbp": 1500}, "note": "", "enabled": True})
    values = {"policy.corruption_leakage": 0.1, "policy.fiscal_amnesty": True, "policy.investment_region": "tirana_durres"}
    edit = {"base": "albania-uk", "name": "my-policy", "values": values, "events": events}
    checked = client.post("/api/scenario/check", json=edit).json()
    assert checked["ok"], checked
    download = client.post("/api/scenario/yaml", json=edit)
    assert download.headers["content-disposition"] == 'attachment; filename="my-policy.yaml"'
    assert download.text == checked["yaml"]
    path = tmp_path / "my-policy.yaml"
    path.write_bytes(download.content)
    loaded = load_scenario(path)
    assert loaded.sha256() == checked["sha256"]
    by_id = {e.id: e for e in loaded.events}
    assert by_id["returns-agreement"].month == "2019-06" and by_id["price-war"].month == "2024-01"
    assert by_id["tiktok-ads-2023"].enabled is False
    assert loaded.value("policy.corruption_leakage") == 0.1
    assert loaded.value("policy.fiscal_amnesty") is True and loaded.value("policy.investment_region") == "tirana_durres"
    wrong = client.post("/api/scenario/check", json={**edit, "values": {"policy.returns_agreement": "sometimes"}}).json()
    assert wrong["ok"] is False and wrong["field"] == "policy.returns_agreement"
    cli = subprocess.run([sys.executable, "-m", "corridor", "scenarios", "validate", str(path)], capture_output=True, text=True)
    assert cli.returncode == 0 and "ok: my-policy" in cli.stdout


def test_an_uploaded_file_is_validated_like_a_file_given_to_the_command_line(client):
    good = client.post("/api/scenario/check", json={"base": "job-investment", "name": "mine", "values": {"policy.corruption_leakage": 0.5}}).json()
    uploaded = client.post("/api/scenario/upload", files={"file": ("mine.yaml", good["yaml"], "application/yaml")})
    assert uploaded.status_code == 200, uploaded.text
    view = uploaded.json()
    assert view["base"].startswith("upload:") and view["sha256"] == good["sha256"]
    again = client.post("/api/scenario/check", json={"base": view["base"]}).json()
    assert again["sha256"] == good["sha256"] and "extends" not in again["yaml"]  # stands alone
    bad = {
        "broken.yaml": ("name: x\nparameters: [1, 2\n", "broken.yaml: malformed YAML at line"),
        "list.yaml": ("- a\n- b\n", "list.yaml: a scenario must be a YAML mapping"),
        "outside.yaml": ("name: x\nextends: ../../secret.yaml\ndescription: d\n", "is not a bundled scenario"),
        "bounds.yaml": (good["yaml"].replace("value: 0.5", "value: 7"), "bounds.yaml: parameters.policy.corruption_leakage = 7"),
        "big.yaml": ("#" * (editor.MAX_UPLOAD_BYTES + 10), "over the upload limit"),
    }
    for name, (text, message) in bad.items():
        answer = client.post("/api/scenario/upload", files={"file": (name, text, "application/yaml")})
        assert answer.status_code == 400 and message in answer.json()["error"], (name, answer.text)
    huge = client.post("/api/scenario/upload", files={"file": ("huge.yaml", b"#" * 5_000_000, "application/yaml")})
    assert huge.status_code == 413 and "a scenario file may have at most 256 KiB" in huge.json()["error"]
    streamed = client.post("/api/scenario/check", content=(b"x" * 10_000 for _ in range(100)), headers={"content-type": "application/json"})
    assert streamed.status_code == 413  # no declared length: counted as it arrives
    binary = client.post("/api/scenario/upload", files={"file": ("x.yaml", b"\xff\xfe\x00", "application/yaml")})
    assert binary.status_code == 400 and "not UTF-8" in binary.json()["error"]


# ---------------------------------------------------------------- runs


def test_a_quick_run_is_kept_in_the_registry_with_its_manifest_and_downloads(client, quick_run, runs_dir, tmp_path):
    record = client.get(f"/api/runs/{quick_run}").json()
    manifest = json.loads((runs_dir / quick_run / "output" / "manifest.json").read_text())
    assert record["status"] == "done" and record["permalink"] == f"/runs/{quick_run}"
    assert (record["seed"], record["agents"]) == (manifest["seed"], manifest["agents"]) == (3, SMALL)
    assert record["scenario_sha256"] == manifest["scenario_sha256"] and record["version"] == manifest["version"]
    assert quick_run in [r["id"] for r in client.get("/api/runs").json()]
    listed = {j["id"]: j for j in client.get("/api/jobs").json()}
    assert listed[quick_run]["status"] == "done" and listed[quick_run]["label"] == "quick run of albania-uk-edited (1,000 agents)"
    assert client.get(f"/runs/{quick_run}").status_code == 200
    series = pd.read_parquet(runs_dir / quick_run / "output" / "series.parquet")
    parquet = client.get(f"/api/runs/{quick_run}/download/parquet")
    (tmp_path / "s.parquet").write_bytes(parquet.content)
    assert pd.read_parquet(tmp_path / "s.parquet").equals(series)
    csv = client.get(f"/api/runs/{quick_run}/download/csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("month,")
    assert len(csv.text.splitlines()) == len(series) + 1
    xlsx = client.get(f"/api/runs/{quick_run}/download/xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"  # a zip container, as XLSX files are
    scenario_yaml = client.get(f"/api/runs/{quick_run}/download/yaml")
    (tmp_path / "again.yaml").write_bytes(scenario_yaml.content)
    assert load_scenario(tmp_path / "again.yaml").sha256() == record["scenario_sha256"]
    names = [f["name"] for f in client.get(f"/api/runs/{quick_run}").json()["files"]]
    assert client.get(f"/api/runs/{quick_run}/files/manifest.json").json()["seed"] == 3 and "life_events.parquet" in names


def test_the_view_of_a_run_has_its_key_numbers_chart_and_provenance(client, quick_run, runs_dir):
    view = client.get(f"/api/runs/{quick_run}/view", params={"output": "arrivals_small_boat", "since": "2022-01", "until": "2022-12"}).json()
    series = pd.read_parquet(runs_dir / quick_run / "output" / "series.parquet")
    in_2022 = series[series["month"].str.startswith("2022")]
    cards = {c["output"]: c for c in view["cards"]}
    assert cards["arrivals_small_boat"]["value"] == significant(in_2022["arrivals_small_boat"].sum())
    assert cards["departures"]["interval"] == "one run: no interval"
    assert set(cards) >= {"departures", "deaths_in_transit", "trafficking_referrals", "removals", "prison_population",
                          "remittances_gbp", "smuggler_revenue_gbp", "gang_revenue_gbp"}  # fmt: skip
    figure = view["figures"][0]
    assert figure["data"] and "small-boat" in figure["layout"]["title"]["text"].lower()
    rows = {r["key"]: r for r in view["provenance"]}
    assert rows["smuggling.small_boat_base_price_gbp"]["value"] == 1500
    assert client.get(f"/api/runs/{quick_run}/view", params={"output": "no_such_output"}).status_code == 400
    assert client.get(f"/api/runs/{quick_run}/view", params={"since": "2040-01"}).status_code == 400


def test_an_ensemble_and_a_comparison_run_in_the_background_and_show_intervals(client):
    ensemble = submit(client, kind="ensemble", scenario={"base": "albania-uk"}, agents=500, runs=3)
    compare = submit(client, kind="compare", scenario={"base": "no-returns-agreement"}, baseline={"base": "albania-uk"},
                     agents=500, runs=3, since="2022-12")  # fmt: skip
    assert client.get("/api/info").status_code == 200  # the server answers while both compute
    assert wait(client, ensemble["id"])["status"] == "done"
    view = client.get(f"/api/runs/{ensemble['id']}/view").json()
    assert all(c["interval"].startswith("90%: ") for c in view["cards"])
    assert {o for o, _ in library.KEY_OUTPUTS} == {c["output"] for c in view["cards"]}
    assert any("observed" in json.dumps(f["data"]) for f in client.get(f"/api/runs/{ensemble['id']}/view", params={"output": "arrivals_small_boat"}).json()["figures"])
    assert wait(client, compare["id"])["status"] == "done"
    record = client.get(f"/api/runs/{compare['id']}").json()
    assert record["arms"] == ["albania-uk", "no-returns-agreement"]
    view = client.get(f"/api/runs/{compare['id']}/view").json()
    assert view["period"] == "2022-12..2030-12" and "2023" in view["periods"]
    removals = next(c for c in view["cards"] if c["output"] == "removals")
    assert removals["interval"].startswith("90%: ") and removals["detail"].startswith("albania-uk ")
    assert " → no-returns-agreement " in removals["detail"]
    assert len(view["figures"]) == 3
    assert client.get(f"/api/runs/{compare['id']}/download/csv").text.startswith("arm,output,period,statistic,value")


def test_bad_job_requests_are_refused_with_one_line(client):
    edit = {"base": "albania-uk"}
    cases = [
        ({"kind": "run", "scenario": edit, "agents": 5}, 422, "agents"),
        ({"kind": "teleport", "scenario": edit}, 422, "kind"),
        ({"kind": "ensemble", "scenario": edit, "posterior": "../../etc"}, 400, "use one of the shipped posteriors"),
        ({"kind": "compare", "scenario": edit, "since": "2022-13"}, 400, "since"),
        ({"kind": "compare", "scenario": {"base": "albania-uk", "name": "x"}, "baseline": {"base": "albania-uk", "name": "x"}}, 400, "a name of its own"),
        ({"kind": "compare", "scenario": {"base": "no-returns-agreement"}, "baseline": edit, "since": "2040-01"}, 400, "outside the horizon"),
        ({"kind": "run", "scenario": {"base": "albania-uk", "values": {"smuggling.no_such": 1}}}, 400, "unknown parameter"),
        ({"kind": "run", "scenario": {"base": "no-such-scenario"}}, 400, "not a bundled scenario"),
    ]
    for request, status, words in cases:
        answer = client.post("/api/jobs", json=request)
        assert answer.status_code == status, (request, answer.text)
        message = answer.json()["error"]
        assert words in message and "\n" not in message and "Traceback" not in message


def test_no_request_reaches_outside_the_runs_directory(client, quick_run, runs_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (runs_dir / quick_run / "link.txt").symlink_to(secret)
    attempts = [
        "/api/runs/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/api/runs/{quick_run}/files/..%2Frun.json",
        f"/api/runs/{quick_run}/files/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/api/runs/{quick_run}/files/link.txt",
        f"/api/runs/{quick_run}/files/.hidden",
        "/api/runs/..%2Fuploads/files/x.yaml",
        "/api/scenarios/..%2F..%2Fsecret",
        "/api/scenarios/upload:..%2F..%2Fsecret",
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        f"/api/runs/{quick_run}/download/..%2F..%2Fsecret",
    ]
    for url in attempts:
        answer = client.get(url)
        assert answer.status_code in (400, 404, 422), (url, answer.status_code)
        assert "top secret" not in answer.text and "root:" not in answer.text
    edit = {"base": f"upload:{'0' * 12}/../../secret"}
    assert client.post("/api/scenario/check", json=edit).json()["ok"] is False


def test_a_cancelled_job_stops_its_worker_process(client, runs_dir):
    job = submit(client, kind="run", scenario={"base": "albania-uk"}, agents=400_000)
    queue = client.app.state.jobs
    deadline = time.time() + 60
    while queue.get(job["id"]).done == 0:  # running and through its first months
        assert time.time() < deadline
        time.sleep(0.1)
    process = queue.get(job["id"]).process
    cancelled = client.post(f"/api/jobs/{job['id']}/cancel").json()
    assert wait(client, job["id"])["status"] == "cancelled" and cancelled["id"] == job["id"]
    assert process.wait(timeout=10) < 0  # ended by a signal, before finishing its months
    assert not (runs_dir / job["id"] / "output").exists()
    assert client.get(f"/api/runs/{job['id']}").json()["status"] == "cancelled"
    assert client.get(f"/api/runs/{job['id']}/view").status_code == 400


def test_a_full_queue_refuses_politely_and_a_queued_job_can_be_dropped(tmp_path):
    with TestClient(create_app(tmp_path, slots=1, capacity=2)) as c:
        first = submit(c, kind="run", scenario={"base": "albania-uk"}, agents=400_000)
        second = submit(c, kind="run", scenario={"base": "albania-uk"}, agents=SMALL)
        full = c.post("/api/jobs", json={"kind": "run", "scenario": {"base": "albania-uk"}, "agents": SMALL})
        assert full.status_code == 503 and full.headers["retry-after"] == "10"
        assert "queue is full" in full.json()["error"]
        assert c.post(f"/api/jobs/{second['id']}/cancel").json()["status"] == "cancelled"
        assert c.post(f"/api/jobs/{first['id']}/cancel").json()["id"] == first["id"]
        assert wait(c, first["id"])["status"] == "cancelled"
        assert not (tmp_path / second["id"] / "worker.log").exists()  # it never started
        assert submit(c, kind="run", scenario={"base": "albania-uk"}, agents=SMALL)["status"] == "queued"


def test_a_failing_run_shows_one_line_and_the_server_keeps_serving(client, runs_dir):
    registry, queue = client.app.state.registry, client.app.state.jobs
    run_id, folder = registry.create({"kind": "run", "status": "queued", "scenario": "broken"})
    (folder / "scenario.yaml").write_text("name: broken\nextends: albania-uk\ndescription: d\n")
    (folder / "job.json").write_text(json.dumps({"kind": "run", "agents": "many", "seed": 0, "life_events": False}))
    queue.submit(run_id, "run", folder)
    job = wait(client, run_id)
    assert job["status"] == "failed" and job["error"].startswith("TypeError: ") and "\n" not in job["error"]
    assert "Traceback" in (folder / "worker.log").read_text()  # kept for the operator, not shown
    assert client.get(f"/api/runs/{run_id}").json()["error"] == job["error"]
    killed = submit(client, kind="run", scenario={"base": "albania-uk"}, agents=400_000)
    deadline = time.time() + 60
    while queue.get(killed["id"]).done == 0:
        assert time.time() < deadline
        time.sleep(0.1)
    os.kill(queue.get(killed["id"]).process.pid, 9)  # a worker that dies without a word
    assert "stopped unexpectedly" in wait(client, killed["id"])["error"]
    assert client.get("/api/scenarios").status_code == 200


def test_an_unexpected_error_is_one_line_and_the_next_request_is_served(tmp_path, monkeypatch):
    from corridor.web import library

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nwith a second line")

    monkeypatch.setattr(library, "shipped_posteriors", broken)
    with TestClient(create_app(tmp_path), raise_server_exceptions=False) as c:
        answer = c.get("/api/info")
        assert answer.status_code == 500
        assert answer.json()["error"] == "internal error (RuntimeError); the server keeps serving, see its log"
        assert c.get("/api/scenarios").status_code == 200


def test_unknown_runs_are_404_and_unfinished_runs_have_no_results_yet(client):
    assert client.get("/api/runs/20990101-000000-abcdef").status_code == 404
    assert client.get("/runs/20990101-000000-abcdef").status_code == 404
    assert client.get("/api/jobs/20990101-000000-abcdef").status_code == 404
    assert client.post("/api/jobs/20990101-000000-abcdef/cancel").status_code == 404


def test_a_restarted_server_marks_runs_it_left_unfinished(tmp_path):
    with TestClient(create_app(tmp_path)) as c:
        registry = c.app.state.registry
        run_id, _ = registry.create({"kind": "run", "status": "running", "scenario": "x"})
    with TestClient(create_app(tmp_path)) as c:
        record = c.get(f"/api/runs/{run_id}").json()
        assert record["status"] == "failed" and "server stopped" in record["error"]
        assert c.get(f"/api/jobs/{run_id}").json()["error"] == record["error"]  # from the registry, not memory


def test_the_html_report_is_one_click_away(client, quick_run, runs_dir):
    answer = client.get(f"/api/runs/{quick_run}/report")
    assert answer.status_code == 200 and answer.text.lstrip().lower().startswith("<!doctype html")
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", answer.text)  # Plotly is embedded, not fetched
    assert "albania-uk-edited" in answer.text and (runs_dir / quick_run / "report.html").is_file()


def test_a_run_with_life_events_shows_synthetic_case_histories(client, quick_run):
    cases = client.get(f"/api/runs/{quick_run}/cases", params={"n": 3}).json()
    assert 1 <= len(cases["cases"]) <= 3 and cases["figure"]["data"]


def test_the_serve_verb_is_listed_and_binds_to_the_loopback_address_by_default():
    from typer.testing import CliRunner

    from corridor.cli import app
    from corridor.errors import CorridorInputError
    from corridor.web.cli import _bind, serve_cmd

    assert serve_cmd.__defaults__[0] == "127.0.0.1"
    assert "serve" in CliRunner().invoke(app, ["--help"]).output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CorridorInputError, match=f"--port {port}: cannot listen on 127.0.0.1:{port}"):
            _bind("127.0.0.1", port)


def test_plotly_js_is_found_in_the_installed_package():
    from corridor.web.library import plotly_js_path

    assert plotly_js_path().is_file() and Path(plotly_js_path()).stat().st_size > 1_000_000
