"""The leaders' report, the trends, the regional view and the national dashboard in Chromium.

Each page is checked with axe-core (no serious or critical WCAG 2.1 A/AA violation) both
wide (1280 px) and at 320 px, where wide tables scroll inside their own region and charts
keep a legible width in theirs, and each is saved as a full-page screenshot under
test-artifacts/ to look at.
"""

from __future__ import annotations

import pytest

from .support import (
    ANALYST_EMAIL,
    COORDINATOR_EMAIL,
    LEADER_EMAIL,
    describe_violations,
    log_in,
    run_axe,
    save_screenshot,
)
from .test_answering_by_keyboard import assert_no_horizontal_scrolling

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture skips, or fails on CI, and says why
    Page = expect = None

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 800}

#: Scrollable elements that the keyboard cannot reach (WCAG 2.1.1), as axe's
#: scrollable-region-focusable sees them, listed whether or not axe runs the rule.
UNREACHABLE_SCROLLERS = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.scrollWidth > e.clientWidth + 1
                 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .filter(e => !(e.tabIndex >= 0 && e.getAttribute('role') === 'region'
                   && (e.getAttribute('aria-labelledby') || e.getAttribute('aria-label'))))
    .map(e => e.outerHTML.slice(0, 120))"""

#: At 320 px a chart keeps 34rem (544 px; static/assess.css) and scrolls in its region:
#: squeezed into the 300 px or so the page has, its labels could not be read.
LEGIBLE_CHART_WIDTH = 500

#: Each chart's drawn width and whether it sits in a chart's scroll region.
CHART_WIDTHS = """() => [...document.querySelectorAll('figure.chart')].map(figure => {
    const image = figure.querySelector('img, svg');
    return {id: figure.id || figure.outerHTML.slice(0, 80),
            width: image ? image.getBoundingClientRect().width : 0,
            scrolls: !!(image && image.closest('.chart-image[role=region][tabindex="0"]'))};
})"""


def narrow_chart_problems(page: Page) -> list[str]:
    """Charts drawn narrower than LEGIBLE_CHART_WIDTH, or outside a scroll region."""
    return [f"{c['id']}: {c['width']:.0f} px wide"
            + ("" if c["scrolls"] else ", not in a focusable scroll region")
            for c in page.evaluate(CHART_WIDTHS)
            if c["width"] < LEGIBLE_CHART_WIDTH or not c["scrolls"]]


def check_page(page: Page, name: str, found: dict, *, narrow: bool = True) -> None:
    """axe at 1280 px and at 320 px, a screenshot of each; problems collected in `found`."""
    for label, size in (("", WIDE), ("-320", NARROW)) if narrow else (("", WIDE),):
        page.set_viewport_size(size)
        page.wait_for_load_state()
        violations = run_axe(page)
        if violations:
            found[f"{name}{label}"] = describe_violations(violations)
        unreachable = page.evaluate(UNREACHABLE_SCROLLERS)
        if unreachable:
            found[f"{name}{label}: scroll regions out of the keyboard's reach"] = \
                "\n".join(unreachable)
        if label:
            try:
                assert_no_horizontal_scrolling(page, f"{name}{label}")
            except AssertionError as error:
                found[f"{name}{label}: sideways scrolling (WCAG 1.4.10)"] = str(error)
            if narrow_charts := narrow_chart_problems(page):
                found[f"{name}{label}: charts too small to read"] = "\n".join(narrow_charts)
        save_screenshot(page, f"{name}{label}.png")


def test_the_leaders_report_and_trends_pass_axe(live_server, results, new_context):
    page = new_context(**WIDE).new_page()
    log_in(page, LEADER_EMAIL)
    found: dict[str, str] = {}

    page.goto(f"/rounds/{results.round_id}/report")
    expect(page.locator("h1")).to_have_text(live_server.network_name)
    expect(page.locator("#sec-summary .overall")).to_be_visible()
    # The suggested practice of a top-quartile network, linked from its recommendation.
    expect(page.locator("#sec-recommendations .suggested-practices a",
                        has_text=results.practice_title).first).to_be_visible()
    expect(page.locator("#sec-targets .percent-to-target")).to_be_visible()
    check_page(page, "report-sv", found)

    page.goto(f"/networks/{results.network_id}/trends")
    expect(page.locator(".trend-table tbody tr")).not_to_have_count(0)
    check_page(page, "trends-sv", found)

    page.goto(f"/rounds/{results.round_id}/report")
    page.locator('header button[name=lang][lang="fi"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    check_page(page, "report-fi", found, narrow=False)

    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())


def test_the_national_dashboard_and_the_regional_view_pass_axe(live_server, results,
                                                               new_context):
    found: dict[str, str] = {}
    period = results.periods[-1]

    page = new_context(**WIDE).new_page()
    log_in(page, ANALYST_EMAIL, lang="en")
    page.goto(f"/national?period={period}&questionnaire=network-maturity")
    expect(page.locator("#region-table tbody tr")).not_to_have_count(0)
    expect(page.locator('#region-table tr[data-region="Österbotten"] .median').first) \
        .to_be_visible()
    # The distribution, the funnel, the trend and the stages: each checked at 320 px.
    expect(page.locator("figure.chart .chart-image img")).to_have_count(4)
    check_page(page, "national-en", found)
    page.goto(f"/regions/{results.region_id}?period={period}&questionnaire=network-maturity")
    expect(page.locator("#network-table tbody tr")).to_have_count(3)
    expect(page.locator("figure.chart .chart-image img")).to_have_count(1)
    check_page(page, "region-analyst-en", found)

    page = new_context(**WIDE).new_page()
    log_in(page, COORDINATOR_EMAIL)
    page.goto(f"/regions/{results.region_id}?period={period}&questionnaire=network-maturity")
    expect(page.locator("#network-table")).to_contain_text(live_server.network_name)
    check_page(page, "region-coordinator-sv", found)

    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())


def test_a_wide_table_is_scrolled_by_keyboard_at_320_px(live_server, results, new_context):
    """WCAG 2.1.1: Tab reaches the table's scroll region and the arrow keys scroll it."""
    page = new_context(**NARROW).new_page()
    log_in(page, LEADER_EMAIL, lang="en")
    page.goto(f"/rounds/{results.round_id}/report")
    region = page.locator('[role=region][aria-labelledby="profile-table-caption"]')
    expect(region).to_have_accessible_name(page.locator("#profile-table-caption").inner_text())
    assert region.evaluate("e => e.scrollWidth > e.clientWidth"), "the table fits: no test"
    for _ in range(150):
        page.keyboard.press("Tab")
        if region.evaluate("e => e === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the profile table's scroll region")
    page.keyboard.press("ArrowRight")  # the scroll is animated: wait for it
    page.wait_for_function("e => e.scrollLeft > 0", arg=region.element_handle(), timeout=5000)
    # Its caption stays in view while the table scrolls.
    caption = page.locator("#profile-table-caption").bounding_box()
    assert caption["x"] >= 0 and caption["x"] + caption["width"] <= NARROW["width"]
