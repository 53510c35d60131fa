"""Secret tokens in links: never in logs, not guessable, and guessing is throttled."""

from __future__ import annotations

import logging
import re
import secrets

import pytest

from assess.logging import TokenFilter, install, mask_tokens

TOKEN = "Zk3vQm9xP1aL0bR7tY5uW2eN8sH4jC6dF0gKqXz"


@pytest.mark.parametrize(("line", "masked"), [
    (f'127.0.0.1 - - [x] "GET /s/{TOKEN} HTTP/1.1" 302 -',
     '127.0.0.1 - - [x] "GET /s/[token] HTTP/1.1" 302 -'),
    (f"Exception on /s/{TOKEN} [GET]", "Exception on /s/[token] [GET]"),
    (f"GET /password/reset/{TOKEN}?lang=fi", "GET /password/reset/[token]?lang=fi"),
    (f"GET /confirm?token={TOKEN}&x=1", "GET /confirm?token=[token]&x=1"),
    (f"link: https://assess.example.fi/s/{TOKEN}\n", "link: https://assess.example.fi/s/[token]\n"),
    ("GET /survey/page/2 HTTP/1.1", "GET /survey/page/2 HTTP/1.1"),
])
def test_tokens_are_masked(line, masked):
    assert mask_tokens(line) == masked


@pytest.fixture
def installed(app):
    return app


@pytest.mark.parametrize("logger_name", ["werkzeug", "gunicorn.access", "gunicorn.error",
                                         "assess", "assess.mail", "assess.security"])
def test_the_request_and_app_loggers_mask_tokens(installed, caplog, logger_name):
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger(logger_name)
    logger.info('%s - - [%s] "%s" %s %s', "127.0.0.1", "28/Nov/2026", f"GET /s/{TOKEN} HTTP/1.1",
                302, "-")
    assert TOKEN not in caplog.text
    assert "/s/[token]" in caplog.text


def test_gunicorn_access_atoms_are_masked(installed, caplog):
    caplog.set_level(logging.INFO)
    atoms = {"h": "-", "r": f"GET /s/{TOKEN} HTTP/1.1", "s": "302", "U": f"/s/{TOKEN}",
             "q": f"token={TOKEN}"}
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s %(U)s %(q)s', atoms)
    assert TOKEN not in caplog.text


def test_a_handler_added_to_the_app_logger_gets_the_filter(app):
    handler = logging.StreamHandler()
    app.logger.addHandler(handler)
    try:
        install(app)
        assert any(isinstance(f, TokenFilter) for f in handler.filters)
    finally:
        app.logger.removeHandler(handler)


def test_opening_a_link_logs_no_token(app, client, world, caplog):
    caplog.set_level(logging.DEBUG)
    with client.get(f"/s/{world.token_a}") as response:
        assert response.status_code == 302
    with client.get(f"/s/{world.token_a}x") as response:
        assert response.status_code == 404
    assert world.token_a not in caplog.text


def test_a_personal_link_is_exchanged_for_a_session_and_leaves_the_address_bar(app, client,
                                                                               db, world):
    from datetime import date, timedelta

    from assess.models import Round

    round_ = db.get(Round, world.round_a)
    round_.state, round_.closes_on = "open", date.today() + timedelta(days=5)
    db.commit()
    response = client.get(f"/s/{world.token_a}")
    assert response.status_code == 302
    assert response.headers["Referrer-Policy"] == "no-referrer"
    location = response.headers["Location"]
    assert world.token_a not in location and "/s/" not in location
    page = client.get(location, follow_redirects=True)
    assert page.status_code == 200
    assert world.token_a not in page.get_data(as_text=True)
    assert 'href="/survey/page/1"' in page.get_data(as_text=True)  # the survey, by session
    assert 'name="item_' in client.get("/survey/page/1").get_data(as_text=True)


def test_the_console_mail_backend_logs_no_link(app, caplog):
    """Even folded by quoted-printable encoding (a long BASE_URL makes the line long)."""
    from pathlib import Path

    from assess.mail import OutgoingMail, personal_link, sender_for

    caplog.set_level(logging.DEBUG)
    base = "https://kysely.hyvinvointialueen-yhteistyoverkostot.example.fi"
    link = personal_link(base, TOKEN)
    with app.app_context():
        sender_for(app)(OutgoingMail("member@example.org", "Invitation",
                                     f"Answer here:\n{link}\n", "en"))
    assert "Mail (console backend" in caplog.text
    fragments = [TOKEN[i:i + 8] for i in range(len(TOKEN) - 8)]
    assert not [f for f in fragments if f in caplog.text]
    # The outbox file, readable by the app's user only, keeps the working link.
    [eml] = (Path(app.instance_path) / "outbox").glob("*.eml")
    import email

    body = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_content()
    assert link in body


def test_a_thousand_guessed_links_are_all_refused(app, client, world):
    app.config["SURVEY_LINK_RATE_LIMIT"] = "2000 per minute"
    statuses = set()
    for _ in range(1000):
        with client.get(f"/s/{secrets.token_urlsafe(32)}") as response:
            statuses.add(response.status_code)
    assert statuses == {404}
    with client.session_transaction() as sess:
        assert "survey_invitation_id" not in sess


def test_guessing_links_hits_the_rate_limit_whatever_x_forwarded_for_says(app, client, world):
    statuses = []
    for n in range(1000):
        with client.get(f"/s/{secrets.token_urlsafe(32)}",
                        headers={"X-Forwarded-For": f"203.0.113.{n % 250}"}) as response:
            statuses.append(response.status_code)
        if len(statuses) > 40:
            break
    assert statuses[:30] == [404] * 30
    assert set(statuses[30:]) == {429}
    # The real link is throttled too for that address until the window passes.
    with client.get(f"/s/{world.token_a}") as response:
        assert response.status_code == 429


def test_a_path_cannot_forge_a_line_in_the_security_log(app, client, world, caplog):
    from .conftest import login

    login(client, world, "leader_b")
    caplog.set_level(logging.INFO, logger="assess.security")
    # A carriage return or an escape sequence in the path (a newline matches no route).
    with client.get("/s/abc%0d2026-01-01 INFO forged entry%1b[2K") as response:
        assert response.status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "assess.security"]
    assert any("access denied" in line for line in lines)
    assert not [line for line in lines if re.search(r"[\x00-\x1f\x7f]", line)]
