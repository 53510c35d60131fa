"""Members answer periodic surveys: by personal link, or logged in from My surveys."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from assess import create_app
from assess.models import Answer, Invitation, Response, ResponseScore
from assess.questionnaire.model import localized
from assess.services import surveys

TODAY = date.today()
CLOSES_ON = TODAY + timedelta(days=14)


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def survey_round(db, questionnaire_row, make_network):
    network = make_network("Äldreomsorgsnätverket i Österbotten")
    period = surveys.create_period(db, f"{TODAY.year}-spring", TODAY - timedelta(days=10),
                                   TODAY + timedelta(days=90))
    round_ = surveys.open_round(db, network, period, questionnaire_row, closes_on=CLOSES_ON,
                                today=TODAY)
    db.commit()
    return round_


@pytest.fixture
def invite(app, db, survey_round):
    """A personal link to `survey_round` (or another round); returns the token."""

    def _invite(email, lang="en", round_=None, organization="City of Vaasa"):
        _invitation, token = surveys.create_invitation(
            db, app.config["SECRET_KEY"], round_ or survey_round, email, organization, lang
        )
        db.commit()
        return token

    return _invite


@pytest.fixture
def flagship(survey_round):
    return surveys.questionnaire_of(survey_round)


def page_items(questionnaire, number):
    return questionnaire.dimensions[number - 1].items


def page_form(questionnaire, number, value="4", action="next", text="More time together"):
    form = {"action": action}
    for item in page_items(questionnaire, number):
        form[f"item_{item.id}"] = value if item.is_scored else text
    return form


def checked_values(html: str, item_id: str) -> list[str]:
    """The values of the checked radio buttons of one item."""
    inputs = re.findall(r"<input[^>]*>", html, flags=re.S)
    return [
        re.search(r'value="([^"]*)"', tag).group(1)
        for tag in inputs
        if f'name="item_{item_id}"' in tag and re.search(r"\bchecked\b", tag)
    ]


def fresh(db):
    """End the test session's transaction: on SQLite a read keeps its snapshot until then."""
    db.rollback()
    return db


def stored_answers(db) -> dict[str, tuple]:
    fresh(db)
    return {
        a.item_id: (a.value, a.dont_know, a.text) for a in db.scalars(select(Answer))
    }


def response_rows(db) -> list[Response]:
    fresh(db)
    return list(db.scalars(select(Response)))


def is_postgres(app) -> bool:
    return app.config["DATABASE_URL"].startswith("postgresql")


# -- by link ---------------------------------------------------------------------------------


def test_a_member_answers_every_page_by_link_and_submits(client, db, invite, flagship):
    token = invite("anna@example.org")
    assert client.get(f"/s/{token}").status_code == 302
    overview = client.get("/survey")
    assert overview.status_code == 200
    assert "Start" in overview.get_data(as_text=True)
    total = len(flagship.dimensions)
    for number in range(1, total + 1):
        page = client.get(f"/survey/page/{number}").get_data(as_text=True)
        assert f"Page {number} of {total}" in page
        action = "review" if number == total else "next"
        saved = client.post(f"/survey/page/{number}", data=page_form(flagship, number, "4",
                                                                    action))
        assert saved.status_code == 303
        expected = "/survey/review" if number == total else f"/survey/page/{number + 1}"
        assert saved.headers["Location"] == expected
    review = client.get("/survey/review").get_data(as_text=True)
    assert "Not answered" not in review
    assert "Somewhat agree" in review
    done = client.post("/survey/submit", follow_redirects=True)
    assert done.status_code == 200
    assert "Thank you! Your answers have been submitted." in done.get_data(as_text=True)

    [response] = response_rows(db)
    assert response.status == "submitted" and response.submitted_at is not None
    answers = stored_answers(db)
    assert len(answers) == len(flagship.items)
    assert answers["s1-challenge"] == (4, False, None)
    assert answers["sg-what-would-help"][2] == "More time together"
    scored = db.scalar(select(func.count()).select_from(ResponseScore)
                       .where(ResponseScore.response_id == response.id))
    assert scored == len(flagship.dimensions)
    assert db.scalar(select(Invitation.answered_at)) is not None


def test_the_link_is_exchanged_for_a_session_and_the_token_leaves_the_address(client, invite):
    token = invite("anna@example.org")
    opened = client.get(f"/s/{token}")
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/survey"
    assert opened.headers["Cache-Control"] == "no-store"
    overview = client.get("/survey")
    assert overview.status_code == 200
    assert token not in overview.get_data(as_text=True)
    assert overview.headers["Referrer-Policy"] == "no-referrer"


def test_the_invitations_language_is_used_unless_the_reader_chose_one(client, invite):
    client.get(f"/s/{invite('pekka@example.org', lang='fi')}")
    assert '<html lang="fi">' in client.get("/survey/page/1").get_data(as_text=True)
    client.post("/language", data={"lang": "en"})
    client.get(f"/s/{invite('sam@example.org', lang='sv')}")
    assert '<html lang="en">' in client.get("/survey/page/1").get_data(as_text=True)


def test_answers_saved_half_way_are_checked_on_a_second_device(app, client, db, invite,
                                                              flagship):
    token = invite("anna@example.org")
    client.get(f"/s/{token}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "2"))
    later = client.post("/survey/page/2", data=page_form(flagship, 2, "dk", action="save"),
                        follow_redirects=True)
    assert "Your answers are saved. Open the same link to continue, on any device." in (
        later.get_data(as_text=True))

    phone = app.test_client()
    phone.get(f"/s/{token}")
    overview = phone.get("/survey").get_data(as_text=True)
    assert "Continue" in overview
    first = phone.get("/survey/page/1").get_data(as_text=True)
    for item in page_items(flagship, 1):
        assert checked_values(first, item.id) == ["2"]
    second = phone.get("/survey/page/2").get_data(as_text=True)
    for item in page_items(flagship, 2):
        assert checked_values(second, item.id) == ["dk"]
    assert len(response_rows(db)) == 1


def test_switching_language_keeps_the_unsaved_choice(client, invite, flagship):
    client.get(f"/s/{invite('anna@example.org', lang='sv')}")
    swedish = client.get("/survey/page/1").get_data(as_text=True)
    assert '<html lang="sv">' in swedish
    assert 'name="switch_lang" value="fi"' in swedish
    first = page_items(flagship, 1)[0]
    switched = client.post(
        "/survey/page/1",
        data={f"item_{first.id}": "2", "switch_lang": "fi"},
        follow_redirects=True,
    )
    page = switched.get_data(as_text=True)
    assert switched.status_code == 200
    assert switched.request.path == "/survey/page/1"
    assert '<html lang="fi">' in page
    assert flagship.scale.labels["fi"][1] in page
    assert localized(first.text, "fi", "sv") in page
    assert checked_values(page, first.id) == ["2"]


def test_a_question_page_has_exactly_one_language_switch_and_enter_means_continue(
    client, invite
):
    client.get(f"/s/{invite('anna@example.org')}")
    page = client.get("/survey/page/1").get_data(as_text=True)
    form = page[page.index('<form class="survey'):]
    # The first submit button of the form is what Enter in a field presses.
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'name="action" value="next"' in first_button
    assert form.count('name="switch_lang"') == 3
    # The header's own switch (which would lose unsaved answers) is hidden by the stylesheet
    # on pages that carry the in-form switch.
    assert 'class="survey-language"' in form


def test_a_question_page_is_accessible_markup(client, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    page = client.get("/survey/page/7").get_data(as_text=True)
    assert page.count("<fieldset") == len(flagship.dimensions[6].likert_items)
    assert "<legend>" in page
    assert re.search(r'<progress[^>]*aria-labelledby="survey-progress-label"', page)
    assert 'id="survey-progress-label">Page 7 of 7<' in page
    for value, label in zip(["1", "5", "dk"], ["Strongly disagree", "Strongly agree",
                                               "Don&#39;t know"], strict=True):
        control = f"item_sg-clear-goal-{value}"
        assert re.search(rf'<label class="choice[^"]*" for="{control}">', page)
        assert f'id="{control}"' in page
        assert label in page
    assert '<label for="item_sg-what-would-help">' in page
    assert '<textarea id="item_sg-what-would-help"' in page
    assert 'value="review">Save and review<' in page
    headings = re.findall(r"<h([1-6])", page)
    assert headings[0] == "1"


def test_an_out_of_scale_value_is_refused_and_nothing_is_stored(client, db, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    first, second = page_items(flagship, 1)[:2]
    refused = client.post("/survey/page/1", data={f"item_{first.id}": "7",
                                                  f"item_{second.id}": "3",
                                                  "action": "next"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'role="alert"' in page
    assert f'href="#item_{first.id}-1"' in page
    assert "Choose one of the options." in page
    assert f'aria-describedby="item_{first.id}-error"' in page
    assert 'aria-invalid="true"' in page
    # The valid choice the member made is still there to correct the rest.
    assert checked_values(page, second.id) == ["3"]
    assert stored_answers(db) == {}
    assert response_rows(db) == []


def test_an_answer_to_a_question_of_another_page_is_refused(client, db, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    first = page_items(flagship, 1)[0]
    elsewhere = page_items(flagship, 5)[0]
    for field in (f"item_{elsewhere.id}", "item_no-such-question"):
        refused = client.post("/survey/page/1", data={f"item_{first.id}": "4", field: "4",
                                                      "action": "next"})
        assert refused.status_code == 400
        assert 'role="alert"' in refused.get_data(as_text=True)
    assert stored_answers(db) == {}


def test_too_long_text_is_refused_with_its_limit(client, db, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    refused = client.post("/survey/page/7", data={"item_sg-what-would-help": "x" * 5001})
    assert refused.status_code == 400
    assert "The answer is too long (at most 5000 characters)." in refused.get_data(as_text=True)
    assert stored_answers(db) == {}


def test_a_double_submit_stores_one_response(client, db, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "5"))
    first = client.post("/survey/submit")
    second = client.post("/survey/submit")
    assert first.status_code == second.status_code == 303
    [response] = response_rows(db)
    assert response.status == "submitted"
    assert client.get("/survey/thank-you").status_code == 200


def test_two_devices_submitting_at_once_store_one_response(app, db, invite, flagship):
    if not is_postgres(app):
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    token = invite("anna@example.org")
    clients = [app.test_client(), app.test_client()]
    for device in clients:
        device.get(f"/s/{token}")
    barrier = threading.Barrier(len(clients))
    statuses, errors = [], []

    def answer_and_submit(device):
        try:
            barrier.wait(timeout=10)
            device.post("/survey/page/1", data=page_form(flagship, 1, "3"))
            statuses.append(device.post("/survey/submit").status_code)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=answer_and_submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert statuses == [303, 303]
    [response] = response_rows(db)
    assert response.status == "submitted"


def test_an_unknown_link_looks_the_same_as_a_malformed_one(client, invite):
    invite("anna@example.org")
    unknown_token = "A" * 43
    malformed_token = "not-a-token" * 20
    unknown = client.get(f"/s/{unknown_token}")
    malformed = client.get(f"/s/{malformed_token}")
    assert unknown.status_code == malformed.status_code == 404
    assert "This link is not valid" in unknown.get_data(as_text=True)
    # The pages differ only where base.html echoes the address back to its language form,
    # and in the CSRF token, which carries a timestamp that may cross a second between requests.
    def page_without(response, token):
        page = response.get_data(as_text=True).replace(token, "")
        return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)

    assert page_without(unknown, unknown_token) == page_without(malformed, malformed_token)
    assert client.get("/survey").status_code == 404


def test_without_a_survey_in_the_session_every_survey_page_says_the_link_is_not_valid(client):
    for path in ("/survey", "/survey/page/1", "/survey/review", "/survey/thank-you"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
    assert client.post("/survey/submit").status_code == 404


def test_a_withdrawn_invitation_no_longer_opens_the_survey(client, db, invite):
    client.get(f"/s/{invite('anna@example.org')}")
    assert client.get("/survey").status_code == 200
    db.delete(db.scalar(select(Invitation)))
    db.commit()
    gone = client.get("/survey")
    assert gone.status_code == 404
    assert "This link is not valid" in gone.get_data(as_text=True)


def test_a_closed_rounds_link_shows_the_closed_page_and_refuses_changes(
    client, db, invite, survey_round, flagship
):
    token = invite("anna@example.org")
    client.get(f"/s/{token}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4"))
    client.post("/survey/submit")
    surveys.close_round(db, survey_round)
    db.commit()

    refused = client.post("/survey/page/1", data=page_form(flagship, 1, "1"))
    assert refused.status_code == 410
    assert stored_answers(db)["s1-challenge"] == (4, False, None)
    assert client.post("/survey/submit").status_code == 410

    fresh = client.application.test_client()
    opened = fresh.get(f"/s/{token}")
    assert opened.headers["Location"] == "/survey"
    closed = fresh.get("/survey")
    assert closed.status_code == 410
    text = closed.get_data(as_text=True)
    assert "This survey round closed on" in text
    assert str(CLOSES_ON.year) in text


def test_a_round_that_has_not_opened_says_when_it_opens(client, db, invite, questionnaire_row,
                                                        make_network):
    period = surveys.create_period(db, f"{TODAY.year}-autumn", TODAY, TODAY + timedelta(days=90))
    later = surveys.open_round(db, make_network(), period, questionnaire_row,
                               closes_on=TODAY + timedelta(days=30), today=TODAY,
                               opens_on=TODAY + timedelta(days=7))
    db.commit()
    client.get(f"/s/{invite('anna@example.org', round_=later)}")
    page = client.get("/survey")
    assert page.status_code == 403
    assert "The survey opens on" in page.get_data(as_text=True)
    assert client.post("/survey/page/1", data={"item_s1-challenge": "3"}).status_code == 403
    assert response_rows(db) == []


def test_changing_an_answer_after_submitting_replaces_it_and_updates_the_score(
    client, db, invite, flagship
):
    client.get(f"/s/{invite('anna@example.org')}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "5"))
    client.post("/survey/submit")
    [response] = response_rows(db)

    def stage_1_score():
        return fresh(db).scalar(select(ResponseScore.score).where(
            ResponseScore.response_id == response.id, ResponseScore.dimension_id == "stage-1"))

    before = stage_1_score()
    overview = client.get("/survey").get_data(as_text=True)
    assert "You have answered. You can change your answers until" in overview
    # One way to the review page: the button, not the button and a link beside it.
    assert overview.count('href="/survey/review"') == 1
    assert "Save changes" in client.get("/survey/review").get_data(as_text=True)

    changed = client.post("/survey/page/1", data=page_form(flagship, 1, "1"))
    assert changed.status_code == 303
    assert stored_answers(db)["s1-challenge"] == (1, False, None)
    assert db.scalar(select(func.count()).select_from(Answer)) == len(page_items(flagship, 1))
    assert stage_1_score() != before
    [still_one] = response_rows(db)
    assert still_one.status == "submitted"


def test_one_members_link_never_shows_another_members_answers(app, client, invite, flagship):
    anna, pekka = invite("anna@example.org"), invite("pekka@example.org")
    client.get(f"/s/{anna}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "5"))
    client.post("/survey/submit")

    for device in (client, app.test_client()):  # the same browser, and another one
        device.get(f"/s/{pekka}")
        page = device.get("/survey/page/1").get_data(as_text=True)
        assert all(checked_values(page, item.id) == [] for item in page_items(flagship, 1))
        review = device.get("/survey/review").get_data(as_text=True)
        assert "Strongly agree" not in review
        assert review.count("Not answered") == len(flagship.items)
        assert "You have answered." not in device.get("/survey").get_data(as_text=True)


def test_every_survey_page_forbids_caching(client, invite):
    client.get(f"/s/{invite('anna@example.org')}")
    for path in ("/survey", "/survey/page/1", "/survey/review"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_a_page_outside_the_questionnaire_is_not_found(client, invite, flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    assert client.get("/survey/page/0").status_code == 404
    assert client.get(f"/survey/page/{len(flagship.dimensions) + 1}").status_code == 404


def test_a_first_save_that_is_rolled_back_leaves_no_draft(db, survey_round, invite):
    """Each POST commits fully or not at all, also when its first write makes the draft."""
    invite("anna@example.org")
    invitation = db.scalar(select(Invitation))
    surveys.start_or_resume(db, invitation)
    db.rollback()
    assert response_rows(db) == []


def _answer_every_page(db, response, questionnaire, values):
    """Save every page through the service: `values` cycles over the scored items."""
    position = 0
    for dimension in questionnaire.dimensions:
        posted = {}
        for item in dimension.items:
            if item.is_scored:
                posted[item.id] = values[position % len(values)]
                position += 1
            else:
                posted[item.id] = "More time together"
        assert surveys.save_answers(db, response, questionnaire, posted,
                                    [item.id for item in dimension.items]) == {}


def test_a_submit_stores_exactly_the_scores_of_the_pandas_scorer(client, db, invite, flagship):
    """The submit scores one response in plain Python; imports and recomputations use the
    pandas scorer. Both must store the same floats, don't knows and gaps included."""
    from assess.scoring import score_respondents
    from assess.services.results import answer_frame

    token = invite("anna@example.org")
    client.get(f"/s/{token}")
    for number in range(1, len(flagship.dimensions) + 1):
        form = page_form(flagship, number, "4")
        for position, item in enumerate(page_items(flagship, number)):
            if item.is_scored:
                form[f"item_{item.id}"] = ["1", "dk", "5", "", "2", "3"][(number + position) % 6]
        assert client.post(f"/survey/page/{number}", data=form).status_code == 303
    assert client.post("/survey/submit").status_code == 303
    [response] = response_rows(db)
    stored = sorted(db.execute(select(ResponseScore.dimension_id, ResponseScore.score)
                               .where(ResponseScore.response_id == response.id)).all())
    expected = score_respondents(answer_frame(db, [response.id]), flagship)
    assert stored == sorted(zip(expected["dimension_id"], expected["score"], strict=True))
    assert stored  # the mix above leaves enough answers for scores


def test_a_submit_does_not_read_the_questionnaire_definition(app, client, db, invite,
                                                             flagship):
    """The parsed questionnaire is cached per process by checksum: a submit reads neither
    the definition text nor more than a handful of statements."""
    from sqlalchemy import event

    client.get(f"/s/{invite('anna@example.org')}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4"))
    client.get("/survey/review")  # parses and caches the questionnaire if not yet done
    statements = []
    engine = app.extensions["assess.engine"]

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.post("/survey/submit").status_code == 303
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in statements if "definition" in s]
    assert len([s for s in statements if not s.lstrip().upper().startswith(
        ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT"))]) <= 8, statements


def test_a_page_saved_in_a_tab_that_missed_the_submit_is_scored_at_once(app, db, invite,
                                                                        flagship):
    """The status is read under the round's lock: a page saved through a response loaded
    before another tab submitted still updates the stored scores."""
    invite("anna@example.org")
    invitation = db.scalar(select(Invitation))
    stale = surveys.start_or_resume(db, invitation)
    _answer_every_page(db, stale, flagship, ["4"])
    db.commit()
    assert stale.status == "draft"

    other_tab = app.extensions["assess.sessionmaker"]()
    response = other_tab.get(Response, stale.id)
    assert surveys.submit(other_tab, response, flagship) is True
    other_tab.commit()
    other_tab.close()

    def stage_1_score():
        reader = app.extensions["assess.sessionmaker"]()  # leaves `db` and `stale` alone
        try:
            return reader.scalar(select(ResponseScore.score).where(
                ResponseScore.response_id == stale.id, ResponseScore.dimension_id == "stage-1"))
        finally:
            reader.close()

    before = stage_1_score()
    assert before is not None and stale.status == "draft"  # still the stale object
    first_page = flagship.dimensions[0]
    posted = {item.id: "1" for item in first_page.items if item.is_scored}
    assert surveys.save_answers(db, stale, flagship, posted,
                                [item.id for item in first_page.items]) == {}
    db.commit()
    assert stage_1_score() != before


def test_a_resubmit_keeps_the_first_submission_time_and_counts_once(client, db, invite,
                                                                    flagship):
    client.get(f"/s/{invite('anna@example.org')}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4"))
    assert client.post("/survey/submit").status_code == 303
    [first] = response_rows(db)
    answered = db.scalar(select(Invitation.answered_at))
    scores = db.scalar(select(func.count()).select_from(ResponseScore))
    assert client.post("/survey/submit").status_code == 303
    [again] = response_rows(db)
    assert (again.status, again.submitted_at) == ("submitted", first.submitted_at)
    assert db.scalar(select(Invitation.answered_at)) == answered
    assert db.scalar(select(func.count()).select_from(ResponseScore)) == scores


# -- logged in -------------------------------------------------------------------------------


def test_a_member_answers_from_my_surveys(client, db, auth, make_user, survey_round, flagship):
    make_user("member@example.org", role="member", network=survey_round.network)
    auth.login("member@example.org")
    client.post("/language", data={"lang": "en"})
    listing = client.get("/my-surveys")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert survey_round.network.name in text
    assert "Not started" in text
    assert f'action="/rounds/{survey_round.id}/answer"' in text

    chosen = client.post(f"/rounds/{survey_round.id}/answer")
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/survey"
    assert client.get("/survey").status_code == 200
    client.post("/survey/page/1", data=page_form(flagship, 1, "4", action="save"))
    assert "Answers saved, not yet submitted" in client.get("/my-surveys").get_data(as_text=True)
    done = client.post("/survey/submit", follow_redirects=True)
    assert "Thank you! Your answers have been submitted." in done.get_data(as_text=True)
    [response] = response_rows(db)
    assert response.status == "submitted" and response.user_id is not None
    assert response.invitation_id is None
    assert "Answered" in client.get("/my-surveys").get_data(as_text=True)


NO_ROUND_YET = "When your network opens a survey round you receive a personal link by email."


def test_a_members_home_points_to_the_open_survey_first_and_not_to_a_future_link(
        client, db, auth, make_user, survey_round, flagship):
    make_user("member@example.org", role="member", network=survey_round.network)
    auth.login("member@example.org")
    client.post("/language", data={"lang": "en"})
    home = client.get("/").get_data(as_text=True)
    assert "You have a survey to answer" in home
    answer = f'action="/rounds/{survey_round.id}/answer"'
    assert answer in home
    assert home.index(answer) < home.index("Your roles")  # before anything else
    assert NO_ROUND_YET not in home  # a round is open: "when one opens" would mislead
    for lang, heading in (("sv", "Du har en enkät att besvara"),
                          ("fi", "Sinulla on kysely vastattavana")):
        client.post("/language", data={"lang": lang})
        assert heading in client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "en"})

    client.post(f"/rounds/{survey_round.id}/answer")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4", action="save"))
    home = client.get("/").get_data(as_text=True)
    assert "You have a survey to answer" in home and "Continue" in home
    assert client.post("/survey/submit").status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert "You have a survey to answer" not in home and answer not in home
    assert NO_ROUND_YET in home  # nothing left to answer: the next round will come by mail


def test_a_members_home_without_an_open_survey_says_a_link_comes_when_a_round_opens(
        client, auth, make_user, make_network, survey_round):
    make_user("member@example.org", role="member", network=make_network("Quiet network"))
    auth.login("member@example.org")
    client.post("/language", data={"lang": "en"})
    home = client.get("/").get_data(as_text=True)
    assert NO_ROUND_YET in home
    assert "survey to answer" not in home and "/answer" not in home


def test_a_member_invited_by_link_who_also_logs_in_answers_one_response(
        client, db, auth, make_user, invite, survey_round, flagship):
    make_user("member@example.org", role="member", network=survey_round.network)
    token = invite("Member@Example.org")
    client.get(f"/s/{token}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4"))
    assert client.post("/survey/submit").status_code == 303

    auth.login("member@example.org")
    assert client.post(f"/rounds/{survey_round.id}/answer").status_code == 303
    client.post("/survey/page/1", data=page_form(flagship, 1, "2", action="save"))
    assert client.post("/survey/submit").status_code == 303
    [response] = response_rows(db)  # one respondent, counted once
    assert response.status == "submitted"
    values = set(db.scalars(select(Answer.value).where(Answer.response_id == response.id,
                                                       Answer.value.is_not(None))))
    assert values == {2}  # the edit of the one response, not a second copy


def test_a_member_who_answered_by_link_is_not_told_to_answer_again_after_logging_in(
        client, db, auth, make_user, invite, survey_round, flagship):
    make_user("member@example.org", role="member", network=survey_round.network)
    client.get(f"/s/{invite('Member@Example.org')}")
    client.post("/survey/page/1", data=page_form(flagship, 1, "4"))
    assert client.post("/survey/submit").status_code == 303

    auth.login("member@example.org")
    client.post("/language", data={"lang": "en"})
    home = client.get("/").get_data(as_text=True)
    assert "survey to answer" not in home
    listing = client.get("/my-surveys").get_data(as_text=True)
    assert "Answered" in listing and "Not started" not in listing


def test_a_member_who_started_logged_in_continues_the_same_answers_by_link(
        client, db, auth, make_user, invite, survey_round, flagship):
    make_user("member@example.org", role="member", network=survey_round.network)
    auth.login("member@example.org")
    client.post(f"/rounds/{survey_round.id}/answer")
    client.post("/survey/page/1", data=page_form(flagship, 1, "5", action="save"))
    token = invite("member@example.org")
    client.get(f"/s/{token}")
    assert client.post("/survey/submit").status_code == 303
    [response] = response_rows(db)
    assert response.status == "submitted" and response.invitation_id is not None


def test_a_member_of_another_network_cannot_answer_for_it(client, auth, make_user,
                                                           make_network, survey_round):
    make_user("outsider@example.org", role="member", network=make_network())
    auth.login("outsider@example.org")
    assert survey_round.network.name not in client.get("/my-surveys").get_data(as_text=True)
    assert client.post(f"/rounds/{survey_round.id}/answer").status_code == 404
    assert client.post("/rounds/999999/answer").status_code == 404
    with client.session_transaction() as session:
        session["survey_round_id"] = survey_round.id  # as if the cookie were altered
    assert client.get("/survey").status_code == 404


def test_my_surveys_needs_a_login(client):
    assert client.get("/my-surveys").status_code == 302


# -- rate limit ------------------------------------------------------------------------------


@pytest.fixture
def limited_app(database_url):
    """An app whose link limit is on and low, whatever the suite's defaults are."""
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "SURVEY_LINK_RATE_LIMIT": "5 per minute",
    })
    yield app
    app.extensions["assess.engine"].dispose()


def test_guessing_links_beyond_the_limit_gets_429(limited_app):
    client = limited_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    statuses = [client.get(f"/s/guess{n:03d}").status_code for n in range(7)]
    assert statuses == [404] * 5 + [429, 429]
    blocked = client.get("/s/guess999")
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"]
    # Another address is counted on its own.
    other = client.get("/s/guess000", environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 404


def test_a_forwarded_address_is_believed_only_behind_a_trusted_proxy(limited_app):
    client = limited_app.test_client()
    limited_app.config["SURVEY_LINK_RATE_LIMIT"] = "2 per minute"
    spoofed = [
        client.get(f"/s/x{n}", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(3)
    ]
    assert spoofed == [404, 404, 429]  # all counted against the real peer address
    limited_app.config["TRUST_PROXY"] = 1
    behind_proxy = [
        client.get(f"/s/y{n}", headers={"X-Forwarded-For": f"203.0.113.9, 198.51.100.{n}"})
        .status_code
        for n in range(3)
    ]
    assert behind_proxy == [404, 404, 404]  # the proxy's entry (rightmost) tells them apart
