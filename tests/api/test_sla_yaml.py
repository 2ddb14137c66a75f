"""The SLA configuration as a YAML file: exact round trip, all-or-nothing import, dry run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.api.test_sla import targets
from tests.api.test_sla_config import OFFICE
from tests.factories import Directory, Person

YAML = {"Content-Type": "application/yaml"}


def unique(prefix: str) -> str:
    return f"{prefix} {time.monotonic_ns()}"


def export(admin: Person) -> str:
    response = admin.api.get("/sla/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/yaml")
    return response.text


def import_(admin: Person, text: str, *, dry_run: bool = False) -> Any:
    return admin.api.post(
        "/sla/import", params={"dry_run": dry_run}, content=text.encode(), headers=YAML
    )


def configure(admin: Person, directory: Directory) -> dict[str, Any]:
    """A calendar with holidays and special days, and a policy using every kind of field."""
    org = directory.organisation(unique("Acme"))
    lead = directory.person("agent")
    group = directory.group(unique("Network"), members=[lead])
    service = admin.api.ok("POST", "/services", 201, json={"name": unique("VPN")})
    calendar = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={
            "name": unique("Berlin office"),
            "timezone": "Europe/Berlin",
            "week": OFFICE,
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
            "days": [{"day": "2026-12-24", "hours": [{"start": 540, "end": 720}], "label": "Eve"}],
        },
    )
    policy = admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": unique("Gold"),
            "calendar_id": calendar["id"],
            "conditions": {
                "types": ["incident"],
                "organisation_ids": [org],
                "service_ids": [service["id"]],
                "group_ids": [group],
            },
            "targets": {
                **targets(resolution=86400),
                "1": {"first_response": 1800, "resolution": 14400},
            },
            "warnings": [60, 90],
            "on_reopen": "restart",
            "escalations": [
                {"after": 0, "actions": [{"kind": "notify_user", "user_id": lead.id}]},
                {
                    "after": 3600,
                    "clocks": ["resolution"],
                    "actions": [
                        {"kind": "reassign", "group_id": group},
                        {"kind": "raise_priority"},
                    ],
                },
            ],
        },
    )
    return {"calendar": calendar, "policy": policy, "lead": lead, "group": group}


def test_export_and_import_round_trip_exactly(admin: Person, directory: Directory) -> None:
    made = configure(admin, directory)
    text = export(admin)
    document = yaml.safe_load(text)
    gold = next(p for p in document["policies"] if p["name"] == made["policy"]["name"])
    assert gold["calendar"] == made["calendar"]["name"]
    assert gold["targets"][1] == {"first_response": "PT30M", "resolution": "PT4H"}
    assert gold["escalations"][0]["actions"] == [
        {"kind": "notify_user", "user": made["lead"].email}
    ]
    berlin = next(c for c in document["calendars"] if c["name"] == made["calendar"]["name"])
    assert berlin["week"]["monday"] == ["09:00-17:00"] and "saturday" not in berlin["week"]
    assert berlin["holidays"] == {"country": "DE", "subdivision": "BE"}
    assert berlin["days"] == [{"day": "2026-12-24", "hours": ["09:00-12:00"], "label": "Eve"}]

    report = import_(admin, text, dry_run=False)
    assert report.status_code == 200, report.text
    assert report.json() == {"dry_run": False, "changes": []}
    assert export(admin) == text
    assert admin.api.ok("GET", f"/sla-policies/{made['policy']['id']}")["version"] == 1


def test_names_with_unicode_line_breaks_survive_the_round_trip(admin: Person) -> None:
    """A YAML reader folds a raw NEL, line or paragraph separator into a space, which
    would rename a service or make two names one; the export escapes them."""
    stem = unique("Branch")
    names = [f"{stem}\x85office", f"{stem} office", f"{stem}\u2028North", f"{stem}\u2029South"]
    for name in names:
        admin.api.ok("POST", "/services", 201, json={"name": name})
    text = export(admin)
    exported = {s["name"] for s in yaml.safe_load(text)["services"]}
    assert set(names) <= exported
    report = import_(admin, text, dry_run=True)
    assert report.status_code == 200, report.text
    assert report.json()["changes"] == []


def test_a_dry_run_reports_and_changes_nothing_then_the_import_does(
    admin: Person, directory: Directory
) -> None:
    made = configure(admin, directory)
    original = export(admin)
    document = yaml.safe_load(original)
    gold = next(p for p in document["policies"] if p["name"] == made["policy"]["name"])
    gold["targets"][1]["resolution"] = "PT2H"
    document["services"].append({"name": unique("Payroll")})
    document["policies"].remove(gold)
    document["policies"].insert(0, gold)  # tried first from now on
    changed = yaml.safe_dump(document, sort_keys=False)

    dry = import_(admin, changed, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert f"policy {gold['name']!r}: changed (version 2)" in dry.json()["changes"]
    assert any(c.endswith(": added") and "Payroll" in c for c in dry.json()["changes"])
    assert export(admin) == original, "a dry run changes nothing"

    applied = import_(admin, changed).json()
    assert applied["changes"] == dry.json()["changes"]
    policy = admin.api.ok("GET", f"/sla-policies/{made['policy']['id']}")
    assert policy["version"] == 2 and policy["position"] == 1
    assert policy["targets"]["1"]["resolution"] == "PT2H"
    assert import_(admin, original).status_code == 200  # put the desk back as it was


def test_a_bad_file_is_rejected_whole_with_lines_and_fields(
    admin: Person, directory: Directory
) -> None:
    configure(admin, directory)
    before = export(admin)
    newcomer = unique("Would be added")
    bad = f"""\
version: 1
services:
  - name: {newcomer}
calendars:
  - name: Broken
    timezone: Mars/Olympus
    week:
      monday: ["09:00-17:00"]
      funday: ["09:00-12:00"]
policies:
  - name: Broken policy
    calendar: Nowhere
    targets:
      1: {{resolution: PT1H}}
"""
    response = import_(admin, bad)
    assert response.status_code == 422, response.text
    problems = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "line 9: calendars.0.week.funday" in problems
    # Shape first: the week is wrong, so nothing further was looked at or applied.
    assert export(admin) == before
    assert newcomer not in export(admin)

    bad = bad.replace("      funday:", "      tuesday:")
    response = import_(admin, bad)
    assert response.status_code == 422
    problems = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "IANA" in problems["line 6: calendars.0.timezone"]
    assert "no calendar 'Nowhere'" in problems["line 12: policies.0.calendar"]
    assert export(admin) == before, "nothing is half-applied"

    broken = import_(admin, "services:\n  - name: a\n\t- name: b\n")
    assert broken.status_code == 422 and broken.json()["field"] == "line 3"
    assert "cannot start any token" in broken.json()["detail"]
    assert import_(admin, "just text").json()["field"] == "line 1: (document)"
    assert admin.api.post("/sla/import", content=b"\xff\xfe", headers=YAML).status_code == 400
    empty = import_(admin, "")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert export(admin) == before, "an empty upload deletes nothing"


def test_cli_exports_and_imports_the_same_file(
    admin: Person, directory: Directory, database_url: str, tmp_path: Path
) -> None:
    configure(admin, directory)
    env = {"TEMPODESK_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}

    def tempodesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-P", "-m", "tempodesk", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    exported = tempodesk("sla", "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == export(admin)
    path = tmp_path / "sla.yaml"
    path.write_text(exported.stdout)
    same = tempodesk("sla", "import", str(path), "--dry-run")
    assert same.returncode == 0, same.stderr
    assert "nothing to change" in same.stdout

    path.write_text(exported.stdout.replace("timezone: Europe/Berlin", "timezone: Nowhere/Land", 1))
    refused = tempodesk("sla", "import", str(path))
    assert refused.returncode == 1
    assert "line " in refused.stderr and "timezone" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert export(admin) == exported.stdout


def test_the_documented_example_file_is_valid(admin: Person, directory: Directory) -> None:
    """docs/sla.md shows process owners a file; it must be one the desk accepts."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sla.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    groups = {g["name"] for g in admin.api.ok("GET", "/groups")}
    if "Second level" not in groups:
        directory.group("Second level")
    before = export(admin)
    response = import_(admin, example, dry_run=True)
    assert response.status_code == 200, response.text
    changes = "\n".join(response.json()["changes"])
    assert "E-mail incidents" in changes and "Office Berlin" in changes
    assert export(admin) == before, "a dry run changes nothing"


def test_integrations_travel_in_the_file_without_their_tokens(
    admin: Person, directory: Directory
) -> None:
    group_name = unique("Ops")
    directory.group(group_name)
    name = unique("Alertmanager prod")
    created = admin.api.ok(
        "POST",
        "/integrations",
        201,
        json={
            "name": name,
            "kind": "alertmanager",
            "group_id": next(
                g["id"] for g in admin.api.ok("GET", "/groups") if g["name"] == group_name
            ),
            "flap_window_seconds": 600,
            "link_by": "group",
            "rules": [{"labels": {"team": "db"}, "impact": 1, "urgency": 1}],
        },
    )
    text = export(admin)
    assert name in text and created["token"] not in text
    data = yaml.safe_load(text)
    mine = next(i for i in data["integrations"] if i["name"] == name)
    assert mine["group"] == group_name and mine["link_by"] == "group"
    assert import_(admin, text).json()["changes"] == [], "the round trip changes nothing"
    assert export(admin) == text

    newcomer = unique("Zabbix")
    data["integrations"].append(
        {
            "name": newcomer,
            "kind": "webhook",
            "mapping": {"dedup_key": "eventid", "summary": "subject"},
            "flap_window": "PT5M",
        }
    )
    report = import_(admin, yaml.safe_dump(data, sort_keys=False))
    assert report.status_code == 200, report.text
    assert (
        f"integration '{newcomer}': added (make its token on its page)" in report.json()["changes"]
    )
    added = next(i for i in admin.api.ok("GET", "/integrations") if i["name"] == newcomer)
    assert added["token_active"] is False and added["flap_window_seconds"] == 300

    data["integrations"][-1]["group"] = "No such group"
    data["integrations"][-1]["mapping"]["summary"] = "subject["
    bad = import_(admin, yaml.safe_dump(data, sort_keys=False))
    assert bad.status_code == 422
    fields = {e["field"].split(": ", 1)[1] for e in bad.json()["errors"]}
    index = len(data["integrations"]) - 1
    assert f"integrations.{index}.group" in fields
    assert f"integrations.{index}.mapping.summary" in fields
