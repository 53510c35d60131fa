"""Response headers on every page, no inline script or style, and limits on what comes in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from assess import CONTENT_SECURITY_POLICY
from assess.models import Invitation

from .conftest import login
from .test_access_matrix import ROUTES, build_url

GET_ROUTES = [(key, endpoint, rule) for key, endpoint, rule in ROUTES if key.startswith("GET ")]


def test_the_policy_allows_no_inline_script_and_no_framing():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("role", ["anonymous", "leader_a", "admin"])
def test_every_page_has_the_security_headers_and_no_inline_code(app, client, world, role):
    login(client, world, role)
    for key, _endpoint, rule in GET_ROUTES:
        with client.get(build_url(app, world, rule)) as response:
            headers = response.headers
            assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, key
            assert headers["X-Content-Type-Options"] == "nosniff", key
            assert headers["Referrer-Policy"] == "no-referrer", key
            assert headers["X-Frame-Options"] == "DENY", key
            if rule.startswith("/static/"):
                continue
            # Pages, reports and exports hold personal or network data.
            assert "no-store" in headers["Cache-Control"], key
            if response.mimetype == "text/html":
                html = response.get_data(as_text=True)
                scripts = re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
                assert all("src=" in tag for tag in scripts), (key, scripts)
                assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), key
                assert not re.search(r"<style\b", html, re.IGNORECASE), key
                assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), key
                assert "javascript:" not in html.lower(), key


@pytest.mark.parametrize("suffix", ["", ".json", ".csv", ".xlsx", ".pdf"])
def test_reports_and_exports_are_not_stored_by_browsers_or_proxies(app, client, world, suffix):
    login(client, world, "leader_a")
    with client.get(f"/rounds/{world.round_a}/report{suffix}") as response:
        assert response.status_code == 200
        assert "no-store" in response.headers["Cache-Control"]


def test_a_50_mb_upload_is_refused_before_it_is_read(app, client, world, db):
    login(client, world, "leader_a")
    # Encoded by hand: Werkzeug's test builder would spool 50 MB to a file it never closes.
    body = (b"--B\r\nContent-Disposition: form-data; name=\"list-upload\"; "
            b"filename=\"members.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            + b"member@example.org,Org A\n" * (50 * 1024 * 1024 // 25) + b"\r\n--B--\r\n")
    with client.post(f"/rounds/{world.round_a}/invitations/list", data=body,
                     content_type="multipart/form-data; boundary=B") as response:
        assert response.status_code == 413
    db.rollback()
    assert db.scalar(select(func.count(Invitation.id))) == 1  # only the world's own


def test_a_50_mb_form_is_refused_anywhere(app, client):
    with client.post("/login", data={"email": "x" * (50 * 1024 * 1024)}) as response:
        assert response.status_code == 413


def _multipart(fields: dict[str, bytes]) -> bytes:
    """A multipart body as a browser sends the invitation form (it has a file field)."""
    parts = [b"--B\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
             % (name.encode(), value) for name, value in fields.items()]
    return b"".join(parts) + b"--B--\r\n"


def test_a_pasted_invitation_list_over_500_kb_gets_a_clear_413_and_nothing_is_stored(
        app, client, world, db):
    from datetime import date, timedelta

    from assess.models import Round

    round_ = db.get(Round, world.round_a)
    round_.state, round_.closes_on = "open", date.today() + timedelta(days=5)
    db.commit()
    login(client, world, "leader_a")
    client.post("/language", data={"lang": "en"})
    pasted = b"".join(b"member%06d@example.org,Org A\n" % n for n in range(20_000))
    assert 500_000 < len(pasted) < app.config["MAX_CONTENT_LENGTH"]
    response = client.post(f"/rounds/{world.round_a}/invitations/list",
                           data=_multipart({"list-addresses": pasted}),
                           content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The text is too long" in page and "choose it as a CSV file instead" in page
    assert "500 KB" in page
    db.rollback()
    assert db.scalar(select(func.count(Invitation.id))) == 1  # only the world's own
    # Just under the limit, the same form is read and handled (here: refused as invalid
    # lines would be, with the form's own message, not a 413 or a 500).
    response = client.post(f"/rounds/{world.round_a}/invitations/list",
                           data=_multipart({"list-addresses": b"not an address,Org A\n" * 10}),
                           content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_bytes_in_a_form_are_refused_with_a_message(app, client, field):
    client.post("/language", data={"lang": "en"})
    data = {"email": "someone@example.org", "password": "a long password here"}
    data[field] += "\x00"
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "not text (NUL)" in response.get_data(as_text=True)


def test_nul_bytes_in_the_query_string_are_refused(app, client, world):
    login(client, world, "admin")
    response = client.get("/national", query_string={"period": "2026\x00spring"})
    assert response.status_code == 400


def test_overlong_form_values_are_refused_with_a_message(app, client, world):
    client.post("/language", data={"lang": "en"})
    response = client.post("/password/forgot", data={"email": "a" * 20_000 + "@example.org"})
    assert response.status_code == 400
    assert "too long" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_survey_answer_gets_the_surveys_own_message(app, client, world, db):
    from assess.models import Round

    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    db.commit()
    client.post("/language", data={"lang": "en"})
    client.get(f"/s/{world.token_a}")
    page = _page_with_text_item(app)
    response = client.post(f"/survey/page/{page}", data={"item_note": "text\x00here"})
    assert response.status_code == 400
    assert "characters that are not text" in response.get_data(as_text=True)


def _page_with_text_item(app) -> int:
    from assess.questionnaire import load_questionnaire_file

    from .conftest import TINY

    questionnaire = load_questionnaire_file(TINY)
    for number, dimension in enumerate(questionnaire.dimensions, start=1):
        if any(item.id == "note" for item in dimension.items):
            return number
    raise AssertionError("the tiny questionnaire has an open-text item 'note'")
