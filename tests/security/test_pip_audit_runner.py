"""The pip-audit step of `make test`: fails on findings, says SKIPPED when it cannot audit."""

from __future__ import annotations

import json

import pytest

from . import pip_audit


def report(*dependencies):
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def unreachable(name):
    raise OSError("Name or service not known")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """The suite never touches the network: PyPI's project API answers only as a test says."""
    monkeypatch.setattr(pip_audit, "fetch_project", unreachable)
    monkeypatch.setattr(pip_audit, "installed_packages",
                        lambda: [("flask", "3.1.3"), ("numpy", "2.4.6")])


@pytest.mark.parametrize(("outcome", "code", "line"), [
    ((1, "", "requests.exceptions.ConnectionError: Failed to resolve 'pypi.org'"), 0,
     "pip-audit: SKIPPED: the vulnerability service could not be reached"),
    ((0, report({"name": "flask", "skip_reason": "Dependency not found on PyPI"}), ""), 0,
     "pip-audit: SKIPPED: the vulnerability service answered for none"),
    ((0, report({"name": "flask", "version": "3.1.3", "vulns": []}), ""), 0,
     "pip-audit: 1 packages audited, no known vulnerabilities"),
    ((1, report({"name": "flask", "version": "0.1", "vulns": [
        {"id": "PYSEC-0000-1", "fix_versions": ["3.1.3"]}]}), ""), 1,
     "pip-audit: FAILED: 1 known vulnerability"),
])
def test_the_runner_fails_on_findings_and_skips_visibly(monkeypatch, capsys, outcome, code,
                                                        line):
    monkeypatch.delenv("ASSESS_REQUIRE_PIP_AUDIT", raising=False)
    monkeypatch.setattr(pip_audit, "run_pip_audit", lambda: outcome)
    assert pip_audit.main() == code
    assert line in capsys.readouterr().out


def test_an_ignored_vulnerability_needs_a_reason():
    assert all(reason.strip() for reason in pip_audit.IGNORED.values())


@pytest.mark.parametrize("outcome", [
    (1, "", "requests.exceptions.ConnectionError: Failed to resolve 'pypi.org'"),
    (0, report({"name": "flask", "skip_reason": "Dependency not found on PyPI"}), ""),
    (1, "", "/usr/bin/python: No module named pip_audit"),
])
def test_where_the_audit_is_required_one_that_could_not_run_fails(monkeypatch, capsys,
                                                                  outcome):
    monkeypatch.setenv("ASSESS_REQUIRE_PIP_AUDIT", "1")
    monkeypatch.setattr(pip_audit, "run_pip_audit", lambda: outcome)
    assert pip_audit.main() == 1
    out = capsys.readouterr().out
    assert "pip-audit: SKIPPED:" in out
    assert "pip-audit: FAILED: ASSESS_REQUIRE_PIP_AUDIT is set" in out


PIP_AUDIT_CANNOT = (0, report({"name": "flask", "skip_reason": "Dependency not found on PyPI"}),
                    "")


def project(latest, *vulnerabilities):
    return {"info": {"version": latest}, "vulnerabilities": list(vulnerabilities)}


@pytest.mark.parametrize(("answers", "code", "lines"), [
    ({"flask": project("3.1.3"), "numpy": project("2.5.5")}, 0,
     ["audited against PyPI's project API instead",
      "pip-audit: 1 packages audited at their latest release, no known vulnerabilities; "
      "not audited: numpy 2.4.6 (latest 2.5.5)"]),
    ({"flask": project("3.1.3", {"id": "GHSA-xxxx", "fixed_in": ["3.1.4"]}),
      "numpy": project("2.4.6", {"id": "PYSEC-old", "withdrawn": "2026-01-01"})}, 1,
     ["pip-audit: flask 3.1.3: GHSA-xxxx (fixed in: 3.1.4)",
      "pip-audit: FAILED: 1 known vulnerability"]),
])
def test_where_pip_audit_cannot_audit_the_latest_releases_are_audited_instead(
        monkeypatch, capsys, answers, code, lines):
    monkeypatch.delenv("ASSESS_REQUIRE_PIP_AUDIT", raising=False)
    monkeypatch.setattr(pip_audit, "run_pip_audit", lambda: PIP_AUDIT_CANNOT)
    monkeypatch.setattr(pip_audit, "fetch_project", lambda name: answers[name])
    assert pip_audit.main() == code
    out = capsys.readouterr().out
    for line in lines:
        assert line in out
