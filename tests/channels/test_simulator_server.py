"""The combined simulator server: one port, every platform under its name, the operator view."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
import requests

from channels.base import Channel
from channels.item import Item
from channels.registry import RegistryError, load_channels
from channels.simulators.base import FaultConfig, FaultKind
from channels.simulators.gov_website import GovWebsiteSimulator
from channels.simulators.server import SimulatorServer, all_simulators
from channels.simulators.suishenban import SuishenbanSimulator

CHANNEL = "gov_website"


def test_every_registered_platform_is_served(sims: SimulatorServer) -> None:
    state = requests.get(f"{sims.url}/api/state", timeout=5).json()

    assert [p["name"] for p in state["platforms"]] == sims.names
    for name in sims.names:
        faults = requests.get(f"{sims.base_url(name)}/_sim/faults", timeout=5)
        assert faults.status_code == 200 and "rates" in faults.json()


def test_without_a_list_it_serves_all_registered_channels() -> None:
    with SimulatorServer() as server:
        assert sorted(server.names) == sorted(load_channels())


def test_the_operator_page_shows_what_each_platform_received(
    sims: SimulatorServer, adapter: Channel, item: Item
) -> None:
    adapter.publish(item, "k-operator")
    sims.simulator(CHANNEL).ledger.published("k-operator")  # as if it had happened twice

    page = requests.get(f"{sims.url}/", timeout=5)

    assert page.headers["Content-Type"].startswith("text/html")
    assert '<meta http-equiv="refresh"' in page.text
    for name in sims.names:
        assert sims.simulator(name).display_name in page.text
    assert "重复发布 1 篇" in page.text and "k-operator × 2" in page.text
    assert "publish" in page.text


def test_the_operator_page_escapes_what_it_received(sims: SimulatorServer) -> None:
    sims.simulator(CHANNEL).note("create", title="<script>alert(1)</script>")

    page = requests.get(f"{sims.url}/", timeout=5).text

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_faults_change_at_run_time_through_the_admin_endpoint(
    sims: SimulatorServer, make_channel: Callable[..., Channel], item: Item
) -> None:
    admin = f"{sims.base_url(CHANNEL)}/_sim/faults"

    changed = requests.put(admin, json={"rates": {"5xx": 1.0}, "retry_after_s": 5}, timeout=5)
    refused = requests.put(admin, json={"rates": {"meteor": 1.0}}, timeout=5)

    assert changed.status_code == 200 and changed.json()["retry_after_s"] == 5
    assert refused.status_code == 400
    assert sims.simulator(CHANNEL).faults.config.rates == {FaultKind.SERVER_ERROR: 1.0}
    state = requests.get(f"{sims.url}/api/state", timeout=5).json()
    gov = next(p for p in state["platforms"] if p["name"] == CHANNEL)
    assert gov["faults"]["rates"] == {"5xx": 1.0}


def test_reset_restores_the_starting_knobs_and_forgets_publications() -> None:
    start = FaultConfig(rates={FaultKind.RATE_LIMIT: 0.5}, retry_after_s=9)
    gov = GovWebsiteSimulator(faults=start)
    with SimulatorServer([gov, SuishenbanSimulator()]) as server:
        gov.faults.update({"rates": {}, "retry_after_s": 1})
        gov.ledger.published("k")

        server.reset()

        assert gov.faults.config == start
        assert gov.ledger.snapshot() == {}


def test_faults_can_be_set_per_platform_at_start() -> None:
    simulators = all_simulators({CHANNEL: FaultConfig(rates={FaultKind.SERVER_ERROR: 1.0})})

    by_name = {sim.name: sim for sim in simulators}
    assert by_name[CHANNEL].faults.config.rates == {FaultKind.SERVER_ERROR: 1.0}
    assert by_name["suishenban"].faults.config.rates == {}


def test_faults_for_an_unknown_platform_are_refused() -> None:
    with pytest.raises(RegistryError, match="weibo"):
        all_simulators({"weibo": FaultConfig()})


def test_one_name_twice_is_refused() -> None:
    with pytest.raises(RegistryError):
        SimulatorServer([GovWebsiteSimulator(), GovWebsiteSimulator()])


def test_an_unknown_platform_has_no_url(sims: SimulatorServer) -> None:
    with pytest.raises(KeyError):
        sims.base_url("weibo")


MAIN = """
from channels.simulators.base import FaultConfig
from channels.simulators.server import main
main(port=0, faults={"gov_website": FaultConfig(rates={"5xx": 1.0})})
"""


def test_main_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", MAIN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(len(load_channels()) + 2)]
        url = re.search(r"http://127\.0\.0\.1:\d+", printed[0])
        assert url, printed
        state = requests.get(f"{url.group(0)}/api/state", timeout=5).json()
        gov = next(p for p in state["platforms"] if p["name"] == CHANNEL)
        assert gov["faults"]["rates"] == {"5xx": 1.0}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # not left running, its pipes not left for a later test to trip on
            process.communicate()
            pytest.fail("the simulators did not stop on SIGINT within 30 s")
    assert process.returncode == 0, err
    assert "政府网站（gov_website）" in "".join(printed)
    assert "按 Ctrl-C 停止" in printed[-1]


def test_a_hanging_request_is_named_and_can_be_abandoned() -> None:
    gov = GovWebsiteSimulator(faults=FaultConfig(rates={FaultKind.TIMEOUT: 1.0}, hang_s=30))
    with SimulatorServer([gov]) as server:
        with pytest.raises(requests.ReadTimeout):
            requests.get(f"{server.base_url(CHANNEL)}/api/v1/articles/x", timeout=(2, 0.2))

        assert not server.wait_idle(timeout=0.1)
        [hanging] = server.busy_requests()
        assert hanging.startswith("GET /gov_website/api/v1/articles/x since ")
        server.abandon_busy()
        assert server.wait_idle(timeout=0.1)
        assert server.busy_requests() == []


def test_the_operator_page_lists_the_public_pages_and_the_back_ends(
    sims: SimulatorServer, adapter: Channel, item: Item
) -> None:
    receipt = adapter.publish(item, "k-pages")
    sims.simulator(CHANNEL).alter_page(receipt.url, remove=410)

    page = requests.get(f"{sims.url}/", timeout=5).text

    assert f'<a href="{receipt.url}">{item.title}</a>' in page and "故障：remove" in page
    assert f'<a href="{CHANNEL}/cms/">内容管理后台</a>' in page
    assert 'href="wechat/cms/"' not in page
