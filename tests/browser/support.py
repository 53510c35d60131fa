"""What the browser tests share besides fixtures: Chromium's settings, axe-core, screenshots."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

from assess import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: axe-core as published on npm; tests/browser/README.md says how to update it.
AXE_SOURCE = Path(__file__).parent / "vendor" / "axe.min.js"
#: WCAG 2.1 A and AA: the level the public sector must meet (EU Web Accessibility Directive).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LEADER_EMAIL = "leader@example.org"
LEADER_PASSWORD = secrets.token_urlsafe(16)
#: Made by the `results` fixture, with the leader's password.
ANALYST_EMAIL = "analyst@example.org"
COORDINATOR_EMAIL = "coordinator@example.org"


@cache
def _axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


def run_axe(page) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now.

    The app's Content-Security-Policy (`script-src 'self'`) blocks inline scripts, so
    `page.add_script_tag(content=...)` would be refused (an inline <script> element; see
    test_axe_cannot_be_injected_as_an_inline_script). `page.evaluate` runs the source
    through the DevTools protocol instead, which CSP does not govern, so the page is
    checked with its real policy in force rather than in a `bypass_csp` context.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                          summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']}: {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            if node.get("summary"):
                lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)


def save_screenshot(page, name: str) -> Path:
    """A full-page PNG under test-artifacts/ (gitignored), to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, email: str, password: str = LEADER_PASSWORD, lang: str | None = None) -> None:
    """Log in through the real form, then choose the interface language (if `lang`)."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))
    if lang:
        page.locator(f'header button[name=lang][lang="{lang}"]').click()
        page.wait_for_load_state()
