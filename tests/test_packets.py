"""Per-manager packets: each holds only the manager's direct reports; the index links them all."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from calib.outputs.report.packets import OUTSIDE, Scrubber, build_packets, render_packets, write_packets
from calib.outputs.report.prepare import prepare_results

SAMPLE = ROOT / "data_samples"


def occurs(value: str, text: str) -> bool:
    """`value` as a whole word (ids like E0012 never match inside E00123)."""
    return value in text and re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", text) is not None


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_results(SAMPLE / "cycle.yml", tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def written(prepared, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("packets") / "packets"
    count = write_packets(prepared, folder, blind=False, workers=1)
    assert count >= 20
    return folder


def test_every_packet_names_only_its_manager_and_direct_reports(prepared, written):
    everyone = pd.read_csv(SAMPLE / "people.csv", dtype=str, keep_default_na=False)
    identifying = [c for c in ("employee_id", "name", "handle") if c in everyone.columns]
    packets = build_packets(prepared, blind=False)
    assert len(packets) >= 20
    for packet in packets:
        allowed = {packet.manager_id} | set(everyone.loc[everyone["manager_id"] == packet.manager_id, "employee_id"])
        assert packet.ids <= allowed
        outsiders = everyone[~everyone["employee_id"].isin(allowed)]
        text = (written / packet.file).read_text(encoding="utf-8")
        for column in identifying:
            leaked = [v for v in outsiders[column] if v and occurs(v, text)]
            assert not leaked, f"{packet.file} ({packet.manager_id}): {column} {leaked[:5]}"
        reports = everyone[everyone["manager_id"] == packet.manager_id]
        reviewed = set(prepared.normalized.frame.query("cycle == '2026-H1'")["employee_id"])
        for name in reports.loc[reports["employee_id"].isin(reviewed), "name"]:
            assert name in text, f"{packet.file}: a direct report is missing"


def test_the_planted_invisible_work_shows_in_its_managers_packet(prepared, written):
    packet = next(p for p in build_packets(prepared, blind=False) if p.manager_id == "E0049")
    text = (written / packet.file).read_text(encoding="utf-8")
    for name in ("Adebayo Huang", "Kenji O&#39;Brien", "Beatriz Larsen", "Noor Richter"):
        assert name in text
    assert "Invisible work for Adebayo Huang" in text
    assert "<svg" in text and "Team delivery and reliability context" in text
    assert "woman" not in text and "gender" not in text  # no protected attribute in any packet


def test_the_index_links_every_packet(written):
    index = (written / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"]+)"', index))
    pages = {p.name for p in written.glob("*.html")} - {"index.html"}
    assert links == pages and len(pages) >= 20
    for page in pages:
        assert "<svg" in (written / page).read_text(encoding="utf-8") or "No review" in (written / page).read_text()


def test_packets_load_nothing_from_the_network(written):
    for page in written.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "<link" not in html.lower()
        for attribute in re.finditer(r"\b(?:src|href)\s*=\s*[\"']?([^\"' >]*)", html):
            assert not re.match(r"(https?:)?//", attribute.group(1)), page.name


def test_parallel_rendering_writes_the_same_pages(prepared, written, tmp_path):
    packets = build_packets(prepared, blind=False)[:6]
    render_packets(packets, tmp_path, workers=2)
    for packet in packets:
        assert (tmp_path / packet.file).read_text() == (written / packet.file).read_text()


def test_scrubber_hides_everyone_outside_the_team():
    people = pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "name": ["Ada Top", "Bo Low", "Cy Mid"]})
    scrub = Scrubber(people)
    text = scrub("E1 compared E2 with Cy Mid and E22.", {"E1": "Ada", "E2": "Bo"})
    assert text == f"Ada compared Bo with {OUTSIDE} and E22."
