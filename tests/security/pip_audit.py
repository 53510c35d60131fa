"""Audit the installed packages for known vulnerabilities; `make test` runs this.

    .venv/bin/python tests/security/pip_audit.py

Fails (exit 1) on any known vulnerability not listed in IGNORED. pip-audit asks PyPI's
per-release JSON API (/pypi/NAME/VERSION/json); the project's build machines reach PyPI
through a mirror that serves only the per-project API (/pypi/NAME/json), whose
`vulnerabilities` are those of the project's latest release. When pip-audit can audit
nothing, this script therefore audits every installed package that is at its latest
release against that list, and names the packages it could not audit (older than the
latest release, or no answer). When neither can audit anything (no network) it prints
one clear SKIPPED line: an audit that could not run is not a pass, and the line says so.
By default that line is all (exit 0), so `make test` and CI pass offline. Where the
audit must run, set ASSESS_REQUIRE_PIP_AUDIT=1: then a skipped audit fails (exit 1), as
ASSESS_REQUIRE_POSTGRES does for the database tests. Not a pytest module: it needs the
network, the test suite must not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

#: Vulnerability id -> why it does not apply to assess (one line each). Empty: none ignored.
IGNORED: dict[str, str] = {}

TIMEOUT_SECONDS = 300
PROJECT_API = "https://pypi.org/pypi/{name}/json"
#: The project itself is not on PyPI.
OWN_DISTRIBUTIONS = {"assess"}


def run_pip_audit() -> tuple[int, str, str]:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner",
               "off", "--skip-editable"]
    for vulnerability in IGNORED:
        command += ["--ignore-vuln", vulnerability]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return -1, "", f"no answer within {TIMEOUT_SECONDS} s"
    return result.returncode, result.stdout, result.stderr


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _skipped(reason: str) -> int:
    """One SKIPPED line; a failure where ASSESS_REQUIRE_PIP_AUDIT says the audit must run."""
    print(f"pip-audit: SKIPPED: {reason}")
    if os.environ.get("ASSESS_REQUIRE_PIP_AUDIT", "") not in ("", "0"):
        print("pip-audit: FAILED: ASSESS_REQUIRE_PIP_AUDIT is set, and an audit that could "
              "not run is not a pass")
        return 1
    return 0


def fetch_project(name: str) -> dict:
    """PyPI's per-project JSON: the latest release and the advisories that affect it."""
    url = PROJECT_API.format(name=name)
    with urllib.request.urlopen(url, timeout=15) as answer:  # noqa: S310 - a fixed https URL
        return json.loads(answer.read())


def installed_packages() -> list[tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in OWN_DISTRIBUTIONS:
            found.setdefault(name.lower().replace("_", "-"), (name, dist.version))
    return sorted(found.values())


def latest_release_audit() -> tuple[list[tuple[str, str, str, str]], int, list[str]]:
    """(findings, packages audited, packages not audited with why) from the project API."""
    packages = installed_packages()

    def ask(package):
        try:
            return package, fetch_project(package[0])
        except (OSError, ValueError) as error:
            return package, error

    findings, audited, not_audited = [], 0, []
    first = ask(packages[0]) if packages else None
    if first is None or isinstance(first[1], Exception):
        # No answer for the first: don't wait out a timeout per package.
        return findings, audited, [f"{len(packages)} packages (no answer)"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for (name, version), data in [first, *pool.map(ask, packages[1:])]:
            if isinstance(data, Exception):
                not_audited.append(f"{name} (no answer)")
                continue
            latest = (data.get("info") or {}).get("version")
            if latest != version:
                not_audited.append(f"{name} {version} (latest {latest})")
                continue
            audited += 1
            findings += [
                (name, version, v["id"], ", ".join(v.get("fixed_in") or []) or "no fix yet")
                for v in data.get("vulnerabilities") or []
                if not v.get("withdrawn") and v["id"] not in IGNORED
            ]
    return findings, audited, not_audited


def _report(findings, audited: int, how: str, not_audited: list[str] | None = None) -> int:
    for name, version, vulnerability, fixes in findings:
        print(f"pip-audit: {name} {version}: {vulnerability} (fixed in: {fixes})")
    if findings:
        print(f"pip-audit: FAILED: {len(findings)} known vulnerabilit"
              f"{'y' if len(findings) == 1 else 'ies'} in the installed packages")
        return 1
    print(f"pip-audit: {audited} packages audited{how}, no known vulnerabilities"
          + (f"; not audited: {', '.join(not_audited)}" if not_audited else ""))
    return 0


def _fall_back(reason: str) -> int:
    """pip-audit could audit nothing: audit the packages at their latest release instead."""
    findings, audited, not_audited = latest_release_audit()
    if not audited:
        return _skipped(f"{reason}; PyPI's project API answered for none of them either")
    print(f"pip-audit: {reason}; audited against PyPI's project API instead")
    return _report(findings, audited, " at their latest release", not_audited)


def main() -> int:
    code, stdout, stderr = run_pip_audit()
    if "No module named pip_audit" in stderr:
        return _skipped("pip-audit is not installed (pip install -e '.[test]')")
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return _fall_back(f"the vulnerability service could not be reached "
                          f"(exit {code}: {_last_line(stderr)})")
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        return _fall_back(f"the vulnerability service answered for none of the "
                          f"{len(dependencies)} installed packages (no access to PyPI's "
                          f"per-release JSON API from here)")
    findings = [
        (d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions", [])) or "no fix yet")
        for d in audited for v in d.get("vulns", []) if v["id"] not in IGNORED
    ]
    skipped = len(dependencies) - len(audited)
    return _report(findings, len(audited), "",
                   [f"{skipped} packages"] if skipped else None)


if __name__ == "__main__":
    sys.exit(main())
