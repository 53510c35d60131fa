"""Members answer periodic surveys by keyboard alone, on a phone-sized screen, in Chromium.

Everything a member does here goes through the keyboard: Tab to move, Space and the
arrow keys to choose in a group of radio buttons, Enter to press a button. Opening the
personal link is the one exception: it comes from the member's mail.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from assess.models import Answer, Response
from assess.questionnaire import load_questionnaire_file, localized
from assess.services.questionnaires import QUESTIONNAIRE_DIR

from .support import LEADER_EMAIL, LEADER_PASSWORD, describe_violations, run_axe, save_screenshot

try:
    from playwright.sync_api import Error, Page, expect
except ImportError:  # the `browser` fixture skips, or fails on CI, and says why
    Error = Page = expect = None

pytestmark = pytest.mark.browser

FLAGSHIP = load_questionnaire_file(QUESTIONNAIRE_DIR / "network-maturity.v1.yaml")
PAGES = len(FLAGSHIP.dimensions)
#: The order of the radio buttons of every statement: the scale, then "Don't know".
CHOICES = ["1", "2", "3", "4", "5", "dk"]
#: Free-text answers with letters a keyboard layout may lack, typed as they are.
TEXTS = {
    "sv": "Mer tid tillsammans – och en gemensam kalender för åren 2026–2027.",
    "fi": "Enemmän yhteistä aikaa – ja yhteinen kalenteri vuosille 2026–2027.",
    "en": "More time together – and a shared calendar for 2026–2027.",
}
#: Each run starts in another language than the one it switches to.
INVITED_IN = {"sv": "en", "fi": "sv", "en": "fi"}

FOCUSED = """() => {
    const e = document.activeElement;
    return {tag: e.tagName.toLowerCase(), type: e.getAttribute('type'), name: e.name || null,
            value: e.value === undefined ? null : e.value, checked: !!e.checked,
            lang: e.getAttribute('lang'), href: e.getAttribute('href'),
            text: (e.innerText || '').trim()};
}"""


# -- keyboard helpers ----------------------------------------------------------------------------


def focused(page: Page) -> dict:
    return page.evaluate(FOCUSED)


def tab_until(page: Page, wanted: Callable[[dict], bool], what: str, *, backwards=False,
              limit=60) -> dict:
    """Press Tab (or Shift+Tab) until the focused element is the wanted one."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        element = focused(page)
        if wanted(element):
            return element
        seen.append(f"{element['tag']} {element['name'] or ''} {element['text'][:30]!r}")
    raise AssertionError(f"Tab never reached {what}; it went through:\n" + "\n".join(seen))


def choose(page: Page, value: str) -> None:
    """In the focused group of radio buttons, choose `value` with Space or the arrow keys."""
    here = focused(page)
    assert here["type"] == "radio", here
    start, target = CHOICES.index(here["value"]), CHOICES.index(value)
    if start == target:
        page.keyboard.press("Space")
    key = "ArrowDown" if target > start else "ArrowUp"
    for _ in range(abs(target - start)):
        page.keyboard.press(key)  # moving in a radio group also checks the radio
    now = focused(page)
    assert (now["value"], now["checked"]) == (value, True), now


def answer_by_keyboard(page: Page, items, answers: dict[str, str]) -> None:
    """Tab to each question of `items` in turn and answer it as `answers` says."""
    for item in items:
        field = f"item_{item.id}"
        tab_until(page, lambda e, field=field: e["name"] == field, field)
        if item.is_scored:
            choose(page, answers[item.id])
        else:
            page.keyboard.type(answers[item.id])


def press_button(page: Page, action: str, *, backwards=False) -> None:
    """Tab to the form's button with name="action" value=`action` and press Enter."""
    tab_until(page, lambda e: e["tag"] == "button" and e["name"] == "action"
              and e["value"] == action, f"the {action} button", backwards=backwards)
    page.keyboard.press("Enter")


def switch_language(page: Page, lang: str, *, backwards=False) -> None:
    """Tab to the language button of `lang` (header or in-form) and press Enter."""
    tab_until(page, lambda e: e["tag"] == "button" and e["lang"] == lang
              and e["name"] in ("lang", "switch_lang"), f"the {lang} button",
              backwards=backwards)
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.wait_for_load_state()


def on_page(page: Page, number: int) -> None:
    page.wait_for_url(re.compile(rf"/survey/page/{number}$"))


# -- other helpers -------------------------------------------------------------------------------


def translated(live_server, message: str, lang: str, **variables) -> str:
    with live_server.app.test_request_context(), force_locale(lang):
        return gettext(message, **variables)


def planned_answers(offset: int) -> dict[str, str]:
    """Every choice, including Don't know, spread over the statements."""
    scored = [item for item in FLAGSHIP.items if item.is_scored]
    return {item.id: CHOICES[(number + offset) % len(CHOICES)]
            for number, item in enumerate(scored)}


def checked(page: Page, item_id: str) -> str | None:
    radio = page.locator(f'input[name="item_{item_id}"]:checked')
    return radio.get_attribute("value") if radio.count() else None


def stored(db, invitation_id: int) -> tuple[list[Response], dict[str, tuple]]:
    db.rollback()  # a fresh snapshot of the SQLite file
    responses = list(db.scalars(select(Response).where(Response.invitation_id == invitation_id)))
    answers = {
        a.item_id: (a.value, a.dont_know, a.text)
        for response in responses
        for a in db.scalars(select(Answer).where(Answer.response_id == response.id))
    }
    return responses, answers


def as_stored(value: str) -> tuple:
    return (None, True, None) if value == "dk" else (int(value), False, None)


# -- 1. the whole questionnaire by keyboard --------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "fi", "en"])
def test_a_member_answers_the_whole_survey_by_keyboard_at_320_px(
    lang, live_server, page, invite, db
):
    member = invite(lang=INVITED_IN[lang])
    answers = planned_answers(offset=["sv", "fi", "en"].index(lang))
    text_item = next(item for item in FLAGSHIP.items if not item.is_scored)
    answers[text_item.id] = TEXTS[lang]

    page.goto(member.link)
    page.wait_for_url(re.compile(r"/survey$"))
    expect(page.locator("html")).to_have_attribute("lang", INVITED_IN[lang])
    switch_language(page, lang)
    start_label = translated(live_server, "Start answering", lang)
    tab_until(page, lambda e: e["tag"] == "a" and e["text"] == start_label, start_label)
    page.keyboard.press("Enter")

    for number, dimension in enumerate(FLAGSHIP.dimensions, start=1):
        on_page(page, number)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_have_text(
            localized(dimension.title, lang, FLAGSHIP.default_language))
        answer_by_keyboard(page, dimension.items, answers)
        if number == 1 and lang == "sv":
            save_screenshot(page, "question-page-320-sv.png")
        press_button(page, "review" if number == PAGES else "next")

    page.wait_for_url(re.compile(r"/survey/review$"))
    expect(page.locator("h1")).to_have_text(translated(live_server, "Check your answers", lang))
    expect(page.locator(".unanswered")).to_have_count(0)
    expect(page.locator(".review-text")).to_have_text(TEXTS[lang])
    if lang == "sv":
        save_screenshot(page, "review-320-sv.png")
    submit_label = translated(live_server, "Submit answers", lang)
    tab_until(page, lambda e: e["tag"] == "button" and e["text"] == submit_label, submit_label)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/survey/thank-you$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(
        translated(live_server, "Thank you! Your answers have been submitted.", lang))

    responses, stored_answers = stored(db, member.invitation_id)
    assert [(r.status, r.submitted_at is not None) for r in responses] == [("submitted", True)]
    expected = {item_id: as_stored(value) for item_id, value in answers.items()
                if item_id != text_item.id}
    expected[text_item.id] = (None, False, TEXTS[lang])
    assert stored_answers == expected


# -- 2. leave half-way, resume on another device ---------------------------------------------


def test_answers_chosen_by_keyboard_are_checked_on_a_second_device(
    live_server, new_context, invite, db
):
    member = invite(lang="en")
    answers = planned_answers(offset=3)
    first, second = FLAGSHIP.dimensions[0], FLAGSHIP.dimensions[1]
    chosen_on_page_2 = second.items[:3]

    laptop = new_context().new_page()
    laptop.goto(member.link)
    tab_until(laptop, lambda e: e["text"] == "Start answering", "Start answering")
    laptop.keyboard.press("Enter")
    on_page(laptop, 1)
    answer_by_keyboard(laptop, first.items, answers)
    press_button(laptop, "next")
    on_page(laptop, 2)
    answer_by_keyboard(laptop, chosen_on_page_2, answers)
    press_button(laptop, "save")
    laptop.wait_for_url(re.compile(r"/survey$"))
    expect(laptop.locator(".flash")).to_have_text(
        "Your answers are saved. Open the same link to continue, on any device.")

    phone = new_context().new_page()
    phone.goto(member.link)
    phone.wait_for_url(re.compile(r"/survey$"))
    expect(phone.locator("main a.button")).to_have_text("Continue")
    phone.goto("/survey/page/1")
    for item in first.items:
        assert checked(phone, item.id) == answers[item.id], item.id
    phone.goto("/survey/page/2")
    for item in second.items:
        expected = answers[item.id] if item in chosen_on_page_2 else None
        assert checked(phone, item.id) == expected, item.id
    # Tab enters a group at its checked radio, so a member can see and change the choice.
    field = f"item_{second.items[0].id}"
    here = tab_until(phone, lambda e: e["name"] == field, field)
    assert (here["value"], here["checked"]) == (answers[second.items[0].id], True)

    responses, stored_answers = stored(db, member.invitation_id)
    assert [r.status for r in responses] == ["draft"]
    assert len(stored_answers) == len(first.items) + len(chosen_on_page_2)


# -- 3. change language before saving --------------------------------------------------------


def test_changing_language_keeps_the_choices_not_yet_saved(live_server, page, invite, db):
    member = invite(lang="sv")
    answers = planned_answers(offset=1)
    dimension = FLAGSHIP.dimensions[0]
    some = dimension.items[:3]

    page.goto(member.link)
    page.goto("/survey/page/1")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    answer_by_keyboard(page, some, answers)
    # Back up to the page's own language buttons (they save the page first).
    switch_language(page, "fi", backwards=True)

    assert page.url.endswith("/survey/page/1")
    expect(page.locator("h1")).to_have_text(localized(dimension.title, "fi", "sv"))
    first_statement = localized(dimension.items[0].text, "fi", "sv")
    expect(page.locator("legend").first).to_have_text(first_statement)
    expect(page.locator(".choice").first).to_have_text(FLAGSHIP.scale.labels["fi"][0])
    for item in dimension.items:
        assert checked(page, item.id) == (answers[item.id] if item in some else None), item.id
    _responses, stored_answers = stored(db, member.invitation_id)
    assert stored_answers == {item.id: as_stored(answers[item.id]) for item in some}


# -- 4. reflow: no horizontal scrolling ------------------------------------------------------

#: WCAG 1.4.10 (Reflow) asks for 320 CSS px: a 1280 px wide window at 400 % zoom. Browser zoom
#: is emulated exactly by the viewport and device scale factor: at 200 % a 1280×800 window
#: lays out 640×400 CSS px, at two device pixels each, and media queries see 640 px. CSS
#: `zoom` on <body> would not do the same: the viewport and media queries stay unzoomed.
SCREENS = {
    "320px": {"width": 320, "height": 800},
    "200%-zoom": {"width": 640, "height": 400, "device_scale_factor": 2},
}


def assert_no_horizontal_scrolling(page: Page, where: str) -> None:
    width, scroll_width, wide = page.evaluate("""() => [
        window.innerWidth, document.documentElement.scrollWidth,
        [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5).map(e => e.outerHTML.slice(0, 120))]""")
    assert scroll_width <= width, f"{where}: {scroll_width} px wide in {width} px: {wide}"


@pytest.mark.parametrize("screen", SCREENS)
def test_no_survey_page_scrolls_sideways(screen, live_server, new_context, invite):
    member = invite(lang="fi", organization="Mustasaaren kunnan sosiaali- ja terveystoimi")
    page = new_context(**SCREENS[screen]).new_page()
    page.goto(member.link)
    page.wait_for_url(re.compile(r"/survey$"))
    assert_no_horizontal_scrolling(page, "overview")
    for number in range(1, PAGES + 1):
        page.goto(f"/survey/page/{number}")
        assert_no_horizontal_scrolling(page, f"page {number}")
    # A long unbroken word (a web address) must wrap on the review page too.
    page.fill("textarea", "https://www.example.fi/" + "sosiaalijaterveyspalvelut" * 6)
    page.locator('.survey-actions button[value="review"]').click()
    page.wait_for_url(re.compile(r"/survey/review$"))
    assert_no_horizontal_scrolling(page, "review")
    page.locator('form[action$="/survey/submit"] button').click()
    page.wait_for_url(re.compile(r"/survey/thank-you$"))
    assert_no_horizontal_scrolling(page, "confirmation")
    page.goto("/survey")
    assert_no_horizontal_scrolling(page, "overview after submitting")
    # The error summary of a refused page (a value no radio offers, as an altered form).
    page.goto("/survey/page/1")
    page.locator("input[type=radio]").first.evaluate("radio => { radio.value = '9'; }")
    page.locator("input[type=radio]").first.check()
    page.locator('.survey-actions button[value="next"]').click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_horizontal_scrolling(page, "page 1 with an error")
    page.goto("/s/not-a-valid-link")
    assert_no_horizontal_scrolling(page, "link not valid")


# -- 5. visible focus ------------------------------------------------------------------------


FOCUS_STYLE = """() => {
    const s = getComputedStyle(document.activeElement);
    return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
}"""


def assert_focus_is_visible(page: Page, what: str) -> None:
    """The focused element has an outline (style check) that changes its pixels (look)."""
    style = page.evaluate(FOCUS_STYLE)
    assert style["style"] not in ("none", "hidden") and style["width"] >= 2, (what, style)
    box = page.evaluate("""() => {
        const r = document.activeElement.getBoundingClientRect();
        return {x: Math.max(r.x - 8, 0), y: Math.max(r.y - 8, 0),
                width: r.width + 16, height: r.height + 16};
    }""")
    with_focus = page.screenshot(clip=box)
    page.evaluate("() => { window.__focused = document.activeElement; "
                  "document.activeElement.blur(); }")
    without_focus = page.screenshot(clip=box)
    page.evaluate("() => window.__focused.focus({focusVisible: true})")
    assert with_focus != without_focus, f"focus on {what} changes nothing on screen"


def test_the_keyboard_focus_is_always_visible(live_server, page, invite):
    member = invite(lang="en")
    page.goto(member.link)
    page.wait_for_url(re.compile(r"/survey$"))
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["href"] == "#main"
    box = page.locator(".skip-link").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, "the skip link stays off screen when focused"
    assert_focus_is_visible(page, "the skip link")
    switch = tab_until(page, lambda e: e["tag"] == "button" and e["name"] == "lang",
                       "a language button")
    assert_focus_is_visible(page, f"the language button {switch['text']}")
    tab_until(page, lambda e: e["text"] == "Start answering", "Start answering")
    assert_focus_is_visible(page, "the start link")
    page.keyboard.press("Enter")
    on_page(page, 1)
    first = FLAGSHIP.dimensions[0].items[0]
    tab_until(page, lambda e: e["name"] == f"item_{first.id}", "the first radio")
    assert_focus_is_visible(page, "an unchecked radio button")
    page.keyboard.press("ArrowDown")
    assert_focus_is_visible(page, "a checked radio button")
    tab_until(page, lambda e: e["name"] == "action" and e["value"] == "next",
              "Save and continue")
    assert_focus_is_visible(page, "Save and continue")
    page.keyboard.press("Tab")
    assert_focus_is_visible(page, "Previous (a secondary button)")


# -- 6. axe-core -----------------------------------------------------------------------------


def test_axe_cannot_be_injected_as_an_inline_script(page):
    """Why run_axe uses page.evaluate: the app's CSP refuses inline scripts."""
    page.goto("/login")
    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.inlineScriptRan = true;")
    assert page.evaluate("() => window.inlineScriptRan === undefined")


def test_run_axe_reports_a_serious_problem(page):
    """A canary: if axe stopped running, every page would seem to pass."""
    page.goto("/login")
    assert run_axe(page) == []
    page.locator("label[for=email]").evaluate("label => label.remove()")
    assert [v["id"] for v in run_axe(page)] == ["label"]


def log_in_as_leader(page: Page) -> None:
    page.goto("/login")
    page.fill("input[name=email]", LEADER_EMAIL)
    page.fill("input[name=password]", LEADER_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))


def test_axe_finds_no_serious_problem_on_any_page(live_server, new_context, invite):
    """Every page at 320 px (where tables scroll and the layout changes); leaders' also wide."""
    invite(lang="sv", organization="Mustasaaren kunnan sosiaali- ja terveystoimi")
    member = invite(lang="sv")
    page = new_context().new_page()
    found = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        violations = run_axe(page)
        if violations:
            found[name] = describe_violations(violations)

    page.goto("/s/not-a-valid-link")
    check("link not valid")
    page.goto("/login")
    check("login")
    page.goto(member.link)
    check("survey overview")
    for number in range(1, PAGES + 1):
        page.goto(f"/survey/page/{number}")
        check(f"question page {number}")
    page.locator('.survey-actions button[value="review"]').click()
    page.wait_for_url(re.compile(r"/survey/review$"))
    check("review")
    page.locator('form[action$="/survey/submit"] button').click()
    page.wait_for_url(re.compile(r"/survey/thank-you$"))
    check("confirmation")
    page.goto("/survey")
    check("survey overview after submitting")
    page.goto("/survey/page/1")
    page.locator("input[type=radio]").first.evaluate("radio => { radio.value = '9'; }")
    page.locator("input[type=radio]").first.check()
    page.locator('.survey-actions button[value="next"]').click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("question page with an error")

    page = new_context().new_page()
    log_in_as_leader(page)
    page.goto(f"/rounds/{live_server.round_id}/manage")
    expect(page.locator("h1")).to_contain_text(live_server.network_name)
    expect(page.locator("table")).to_be_visible()
    check("leader's round page")
    assert_no_horizontal_scrolling(page, "leader's round page")
    save_screenshot(page, "round-manage-320.png")
    page.goto("/rounds")
    check("leader's list of rounds")
    page.goto(f"/rounds/{live_server.round_id}/manage")
    page.set_viewport_size({"width": 1280, "height": 900})
    check("leader's round page, 1280 px")
    save_screenshot(page, "round-manage.png")

    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())
