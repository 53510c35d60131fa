"""Periods, rounds and invitations: the CLI and the leaders' pages."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tiny_import import TINY, import_rows

from assess.models import Invitation, Period, Response, Round
from assess.models.survey import DRAFT, SUBMITTED
from assess.questionnaire import load_questionnaire_file
from assess.services import surveys
from assess.services.questionnaires import load_into_db

TODAY = date.today()
LINK = re.compile(r"http://127\.0\.0\.1:5000/s/([A-Za-z0-9_-]+)")


def refresh(db) -> None:
    """Forget loaded rows and end the transaction: SQLite reads see the database as of
    their BEGIN, so a new snapshot is needed to see what the app or CLI wrote."""
    db.rollback()
    db.expire_all()


def iso(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def count(db, model) -> int:
    refresh(db)
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def period(db):
    period = surveys.create_period(db, f"{TODAY.year}-wave", TODAY - timedelta(days=10),
                                   TODAY + timedelta(days=80))
    db.commit()
    return period


@pytest.fixture
def open_round(db, questionnaire_row, make_network, period):
    network = make_network("Kustens nätverk")
    round_ = surveys.open_round(db, network, period, questionnaire_row,
                                closes_on=TODAY + timedelta(days=20), today=TODAY)
    db.commit()
    return round_


# -- CLI -----------------------------------------------------------------------------------------


def test_periods_create_and_list(db, runner):
    result = runner.invoke(args=["periods", "create", "2026-spring", "--starts", "2026-03-01",
                                 "--ends", "2026-05-31"])
    assert result.exit_code == 0, result.output
    assert "Created period 2026-spring" in result.output
    listed = runner.invoke(args=["periods", "list"])
    assert "2026-spring\t2026-03-01\t2026-05-31" in listed.output


def test_periods_are_listed_newest_first_by_their_dates_not_their_labels(
        db, runner, client, make_user, auth):
    # Alphabetically 2026-spring sorts before 2026-autumn; by date autumn is the newer.
    for label, starts, ends in [("2025-autumn", "2025-09-01", "2025-11-30"),
                                ("2026-spring", "2026-03-01", "2026-05-31"),
                                ("2026-autumn", "2026-09-01", "2026-11-30")]:
        runner.invoke(args=["periods", "create", label, "--starts", starts, "--ends", ends])
    listed = runner.invoke(args=["periods", "list"]).output
    assert [line.split("\t")[0] for line in listed.splitlines()] == [
        "2026-autumn", "2026-spring", "2025-autumn"]
    make_user("analyst@example.org", role="analyst")
    auth.login("analyst@example.org")
    client.post("/language", data={"lang": "en"})
    page = client.get("/periods").get_data(as_text=True).lower()
    main = page[page.index("<main"):]
    assert main.index("autumn") < main.index("spring")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Spring 2026", "--starts", "2026-03-01", "--ends", "2026-05-31"],
         "is not a period label"),
        (["2026-spring", "--starts", "2026-05-31", "--ends", "2026-03-01"],
         "A period cannot end before it starts."),
        (["2026-spring", "--starts", "2026-02-30", "--ends", "2026-05-31"],
         "Invalid value for '--starts'"),
    ],
)
def test_periods_create_refuses_bad_labels_and_dates(db, runner, args, message):
    result = runner.invoke(args=["periods", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(db, Period) == 0


def test_rounds_open_twice_gives_a_clear_error(db, runner, questionnaire_row, make_network,
                                               period):
    make_network("North")
    db.commit()
    args = ["rounds", "open", "--network", "North", "--period", period.label,
            "--questionnaire", "network-maturity", "--closes", iso(14)]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Opened round" in first.output
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "North already has a round of this questionnaire" in again.output
    assert count(db, Round) == 1
    unknown = runner.invoke(args=[*args[:-2], "--questionnaire", "nope", "--closes", iso(14)])
    assert unknown.exit_code == 1 and "'nope' is not loaded" in unknown.output


def test_rounds_open_with_a_later_date_makes_a_draft_and_list_shows_it(
    db, runner, questionnaire_row, make_network, period
):
    make_network("North")
    db.commit()
    result = runner.invoke(args=["rounds", "open", "--network", "North", "--period", period.label,
                                 "--questionnaire", "network-maturity", "--opens", iso(3),
                                 "--closes", iso(14)])
    assert result.exit_code == 0, result.output
    assert f"opens on {iso(3)}" in result.output
    listed = runner.invoke(args=["rounds", "list", "--network", "North"])
    assert "\tdraft\t" in listed.output and "\t0 submitted" in listed.output
    assert "answered" not in listed.output


def test_rounds_close_closes_the_round(db, runner, open_round):
    result = runner.invoke(args=["rounds", "close", "--network", "Kustens nätverk",
                                 "--period", open_round.period.label])
    assert result.exit_code == 0, result.output
    refresh(db)
    assert db.get(Round, open_round.id).state == "closed"


def test_invitations_create_prints_a_link_that_resolves(app, db, runner, open_round):
    result = runner.invoke(args=["invitations", "create", "--network", "Kustens nätverk",
                                 "--period", open_round.period.label, "--email",
                                 "Anna@Example.fi", "--organization", "Vasa stad",
                                 "--language", "sv"])
    assert result.exit_code == 0, result.output
    token = LINK.search(result.output).group(1)
    invitation = surveys.resolve_token(db, token)
    assert invitation is not None
    assert (invitation.email, invitation.language) == ("anna@example.fi", "sv")
    assert invitation.organization.name == "Vasa stad"
    # Without --send nothing is mailed, now or by the daily run.
    assert invitation.sent_at is not None
    assert not (Path(app.instance_path) / "outbox").exists()
    twice = runner.invoke(args=["invitations", "create", "--network", "Kustens nätverk",
                                "--period", open_round.period.label, "--email",
                                "anna@example.fi"])
    assert twice.exit_code == 1 and "invited to this round already" in twice.output


def test_invitations_create_with_send_mails_the_link(app, db, runner, open_round):
    result = runner.invoke(args=["invitations", "create", "--network", "Kustens nätverk",
                                 "--period", open_round.period.label, "--email",
                                 "pekka@example.fi", "--send"])
    assert result.exit_code == 0, result.output
    assert "Mailed 1 invitation" in result.output
    [eml] = (Path(app.instance_path) / "outbox").glob("*.eml")
    assert LINK.search(result.output).group(0) in eml.read_text()


def test_invitation_list_problems_name_the_line_the_record_starts_on():
    text = ('email,organization\n'
            'anna@example.fi,"Vasa stad\nsocialtjänsten"\n'  # a quoted name over two lines
            '\n'
            'not-an-address,Vasa stad\n')
    with pytest.raises(surveys.SurveyError, match="^line 5: 'not-an-address'"):
        surveys.parse_invitation_csv(text, ["sv", "fi", "en"])
    rows = surveys.parse_invitation_csv(text.replace("not-an-address", "b@example.fi"),
                                        ["sv", "fi", "en"])
    assert [row.line for row in rows] == [2, 5]


def test_invitations_import_with_a_bad_line_in_the_middle_imports_nothing(
    db, runner, open_round, tmp_path
):
    path = tmp_path / "members.csv"
    path.write_text("email,organization,language\n"
                    "anna@example.fi,Vasa stad,sv\n"
                    "not-an-address,Vasa stad,sv\n"
                    "pekka@example.fi,Vaasan kaupunki,fi\n", encoding="utf-8")
    result = runner.invoke(args=["invitations", "import", "--network", "Kustens nätverk",
                                 "--period", open_round.period.label, str(path)])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "line 3: 'not-an-address' is not an email address" in result.output
    assert count(db, Invitation) == 0

    path.write_text("anna@example.fi,Vasa stad,sv\npekka@example.fi,Vaasan kaupunki,fi\n",
                    encoding="utf-8")
    result = runner.invoke(args=["invitations", "import", "--network", "Kustens nätverk",
                                 "--period", open_round.period.label, str(path)])
    assert result.exit_code == 0, result.output
    assert len(LINK.findall(result.stdout)) == 2
    assert count(db, Invitation) == 2


# -- leaders' pages --------------------------------------------------------------------------


@pytest.fixture
def leader(client, db, make_user, auth, open_round):
    make_user("leader@example.org", role="leader", network=open_round.network)
    auth.login("leader@example.org")
    client.post("/language", data={"lang": "en"})
    return client


def manage_url(round_) -> str:
    return f"/rounds/{round_.id}/manage"


def test_the_open_round_form_names_seasonal_periods_in_words(client, db, make_user, auth,
                                                             make_network, questionnaire_row):
    seasonal = surveys.create_period(db, f"{TODAY.year + 1}-autumn", TODAY,
                                     TODAY + timedelta(days=90))
    db.commit()
    network = make_network("Inland")
    make_user("inland@example.org", role="leader", network=network)
    auth.login("inland@example.org")
    for lang, words in (("en", f"autumn {TODAY.year + 1}"), ("fi", f"syksy {TODAY.year + 1}")):
        client.post("/language", data={"lang": lang})
        page = client.get("/rounds").get_data(as_text=True)
        option = re.search(rf'<option[^>]*value="{seasonal.id}"[^>]*>([^<]*)</option>', page)
        assert option and option.group(1).strip() == words


def test_a_leader_opens_a_round_with_the_form(client, db, make_user, auth, make_network,
                                             questionnaire_row, period):
    network = make_network("Inland")
    make_user("inland@example.org", role="leader", network=network)
    auth.login("inland@example.org")
    client.post("/language", data={"lang": "en"})
    page = client.get("/rounds").get_data(as_text=True)
    assert "Open a new round" in page and period.label in page
    bad = client.post("/rounds", data={"network_id": network.id, "period_id": period.id,
                                       "questionnaire_id": questionnaire_row.id,
                                       "closes_on": iso(-1)})
    assert bad.status_code == 400
    assert "The closing date must be in the future." in bad.get_data(as_text=True)
    response = client.post("/rounds", data={"network_id": network.id, "period_id": period.id,
                                            "questionnaire_id": questionnaire_row.id,
                                            "closes_on": iso(21)})
    assert response.status_code == 302
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    assert round_.state == "open" and round_.closes_on == TODAY + timedelta(days=21)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The round is open until" in page
    again = client.post("/rounds", data={"network_id": network.id, "period_id": period.id,
                                         "questionnaire_id": questionnaire_row.id,
                                         "closes_on": iso(21)})
    assert again.status_code == 400
    assert "already has a round of this questionnaire" in again.get_data(as_text=True)


def test_a_leader_cannot_open_a_round_for_another_network(client, db, make_user, auth,
                                                         make_network, questionnaire_row,
                                                         period):
    mine, theirs = make_network("Mine"), make_network("Theirs")
    make_user("mine@example.org", role="leader", network=mine)
    auth.login("mine@example.org")
    response = client.post("/rounds", data={"network_id": theirs.id, "period_id": period.id,
                                            "questionnaire_id": questionnaire_row.id,
                                            "closes_on": iso(21)})
    assert response.status_code == 404
    assert count(db, Round) == 0


def test_pasted_list_with_a_bad_address_creates_nothing_and_names_the_line(leader, db,
                                                                          open_round):
    response = leader.post(f"/rounds/{open_round.id}/invitations/list", data={
        "list-addresses": "anna@example.fi,Vasa stad,sv\nanna at example,Vasa stad\n"
                          "pekka@example.fi,Vaasan kaupunki,fi\n"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "line 2: &#39;anna at example&#39; is not an email address" in page
    assert count(db, Invitation) == 0


@pytest.mark.parametrize(("lang", "line", "twice"), [
    ("sv", "rad 2: &#39;anna at example&#39; är ingen e-postadress",
     "rad 3: anna@example.fi finns två gånger i listan"),
    ("fi", "rivi 2: &#39;anna at example&#39; ei ole sähköpostiosoite",
     "rivi 3: anna@example.fi on listassa kahdesti"),
])
def test_list_problems_are_shown_in_the_leaders_language(leader, db, open_round, lang, line,
                                                         twice):
    leader.post("/language", data={"lang": lang})
    response = leader.post(f"/rounds/{open_round.id}/invitations/list", data={
        "list-addresses": "anna@example.fi,Vasa stad,sv\nanna at example,Vasa stad\n"
                          "anna@example.fi,Vasa stad\n"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert line in page and twice in page
    assert count(db, Invitation) == 0


def test_leader_invites_sees_counts_only_reminds_and_closes(app, leader, db, open_round):
    response = leader.post(f"/rounds/{open_round.id}/invitations/list", data={
        "list-addresses": "anna@example.fi,Vasa stad,sv\nbo@example.fi,Vasa stad\n"
                          "pekka@example.fi,Vaasan kaupunki,fi\n"})
    assert response.status_code == 302
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "3 members invited." in page and "3 invitations mailed." in page
    assert "waiting to be mailed" not in page
    outbox = Path(app.instance_path) / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 3
    one = leader.post(f"/rounds/{open_round.id}/invitations", data={
        "one-email": "sam@example.fi", "one-organization": "Kaskö", "one-language": "en"})
    assert one.status_code == 302
    assert len(list(outbox.glob("*.eml"))) == 4
    duplicate = leader.post(f"/rounds/{open_round.id}/invitations", data={
        "one-email": "SAM@example.fi", "one-organization": "Kaskö"})
    assert duplicate.status_code == 400
    assert "invited to this round already" in duplicate.get_data(as_text=True)

    answered = db.scalar(select(Invitation).where(Invitation.email == "pekka@example.fi"))
    answered.answered_at = answered.sent_at
    db.commit()
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "Vasa stad" in page and "Vaasan kaupunki" in page and "Kaskö" in page
    assert "1 of 4 invited members have answered" in page
    for address in ("anna@example.fi", "bo@example.fi", "pekka@example.fi", "sam@example.fi"):
        assert address not in page

    reminded = leader.post(f"/rounds/{open_round.id}/reminders")
    assert reminded.status_code == 302
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "3 reminders sent." in page and "No reminders were needed" not in page
    assert len(list(outbox.glob("*.eml"))) == 7
    leader.post(f"/rounds/{open_round.id}/reminders")
    assert "No reminders were needed" in leader.get(manage_url(open_round)).get_data(
        as_text=True)
    assert len(list(outbox.glob("*.eml"))) == 7

    unconfirmed = leader.post(f"/rounds/{open_round.id}/close", data={})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm." in unconfirmed.get_data(as_text=True)
    refresh(db)
    assert db.get(Round, open_round.id).state == "open"
    closed = leader.post(f"/rounds/{open_round.id}/close", data={"close-confirm": "y"})
    assert closed.status_code == 302
    refresh(db)
    assert db.get(Round, open_round.id).state == "closed"
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "The round is closed." in page and "Reopen the round" in page


def test_a_long_list_is_mailed_in_batches_and_the_rest_waits_for_the_button(
        app, leader, db, open_round):
    # Mailing thousands of invitations in one request would outlast the worker timeout.
    app.config["MAILS_PER_REQUEST"] = 2
    outbox = Path(app.instance_path) / "outbox"
    addresses = "".join(f"member{n}@example.fi,Vasa stad\n" for n in range(5))
    leader.post(f"/rounds/{open_round.id}/invitations/list", data={"list-addresses": addresses})
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "5 members invited." in page and "2 invitations mailed." in page
    assert "3 invitations are waiting to be mailed" in page
    assert "3 invitations have not been mailed yet." in page
    assert len(list(outbox.glob("*.eml"))) == 2

    assert leader.post(f"/rounds/{open_round.id}/invitations/mail").status_code == 302
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "2 invitations mailed." in page and "1 invitation is waiting" in page
    leader.post(f"/rounds/{open_round.id}/invitations/mail")
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "1 invitation mailed." in page
    assert "not been mailed yet" not in page and "Invitations mailed: 5" in page
    assert len(list(outbox.glob("*.eml"))) == 5
    assert len({p.read_bytes() for p in outbox.glob("*.eml")}) == 5  # each member once
    leader.post(f"/rounds/{open_round.id}/invitations/mail")
    assert "Every invitation has been mailed already." in leader.get(
        manage_url(open_round)).get_data(as_text=True)


def test_reminders_now_go_out_in_batches_too(app, leader, db, open_round):
    addresses = "".join(f"member{n}@example.fi,Vasa stad\n" for n in range(3))
    leader.post(f"/rounds/{open_round.id}/invitations/list", data={"list-addresses": addresses})
    app.config["MAILS_PER_REQUEST"] = 2
    leader.post(f"/rounds/{open_round.id}/reminders")
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "2 reminders sent." in page and "1 reminder is still to be sent" in page
    leader.post(f"/rounds/{open_round.id}/reminders")
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "1 reminder sent." in page and "still to be sent" not in page
    assert "Reminders sent: 3" in page


def test_mail_waiting_invitations_of_a_draft_round_is_refused(leader, db, open_round):
    open_round.state, open_round.opens_on = "draft", TODAY + timedelta(days=2)
    db.commit()
    leader.post(f"/rounds/{open_round.id}/invitations/list",
                data={"list-addresses": "anna@example.fi,Vasa stad\n"})
    leader.post(f"/rounds/{open_round.id}/invitations/mail")
    page = leader.get(manage_url(open_round)).get_data(as_text=True)
    assert "Invitations are mailed only while the round is open." in page
    assert db.scalar(select(Invitation.sent_at)) is None


def test_an_uploaded_csv_file_is_imported(leader, db, open_round):
    data = {"list-upload": (io.BytesIO("email;organization\nanna@example.fi;Vasa stad\n"
                                       .encode("utf-8-sig")), "members.csv")}
    response = leader.post(f"/rounds/{open_round.id}/invitations/list", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert count(db, Invitation) == 1


def test_a_draft_rounds_invitations_wait_for_the_opening(app, leader, db, open_round,
                                                         questionnaire_row):
    open_round.state, open_round.opens_on = "draft", TODAY + timedelta(days=2)
    db.commit()
    leader.post(f"/rounds/{open_round.id}/invitations", data={"one-email": "a@example.fi"})
    assert db.scalar(select(Invitation.sent_at)) is None
    assert not (Path(app.instance_path) / "outbox").exists()


def test_extend_and_reopen(leader, db, open_round):
    response = leader.post(f"/rounds/{open_round.id}/extend",
                           data={"extend-closes_on": iso(30)})
    assert response.status_code == 302
    refresh(db)
    assert db.get(Round, open_round.id).closes_on == TODAY + timedelta(days=30)
    leader.post(f"/rounds/{open_round.id}/close", data={"close-confirm": "y"})
    reopened = leader.post(f"/rounds/{open_round.id}/reopen",
                           data={"reopen-closes_on": iso(5)})
    assert reopened.status_code == 302
    refresh(db)
    round_ = db.get(Round, open_round.id)
    assert (round_.state, round_.closes_on) == ("open", TODAY + timedelta(days=5))


def test_a_leader_of_another_network_gets_404(client, db, make_user, make_network, auth,
                                              open_round):
    make_user("other@example.org", role="leader", network=make_network("Elsewhere"))
    auth.login("other@example.org")
    assert client.get(manage_url(open_round)).status_code == 404
    assert client.get("/rounds/999999/manage").status_code == 404
    assert client.post(f"/rounds/{open_round.id}/close",
                       data={"close-confirm": "y"}).status_code == 404
    assert "Kustens nätverk" not in client.get("/rounds").get_data(as_text=True)


def test_a_coordinator_may_look_but_not_change(client, db, make_user, auth, open_round):
    make_user("coord@example.org", role="coordinator", region=open_round.network.region)
    auth.login("coord@example.org")
    page = client.get(manage_url(open_round))
    assert page.status_code == 200
    assert "Close the round" not in page.get_data(as_text=True)
    assert "Kustens nätverk" in client.get("/rounds").get_data(as_text=True)
    for path, data in [("close", {"close-confirm": "y"}), ("reminders", {}),
                       ("invitations", {"one-email": "x@example.fi"}),
                       ("extend", {"extend-closes_on": iso(30)})]:
        assert client.post(f"/rounds/{open_round.id}/{path}", data=data).status_code == 404
    refresh(db)
    assert db.get(Round, open_round.id).state == "open"
    assert count(db, Invitation) == 0


@pytest.mark.parametrize("role", ["member", "analyst"])
def test_members_and_analysts_do_not_see_round_pages(client, make_user, auth, open_round, role):
    scope = {"network": open_round.network} if role == "member" else {}
    make_user(f"{role}@example.org", role=role, **scope)
    auth.login(f"{role}@example.org")
    assert client.get("/rounds").status_code == 404
    assert client.get(manage_url(open_round)).status_code == 404


def test_an_analyst_creates_a_period(client, db, make_user, auth):
    make_user("analyst@example.org", role="analyst")
    auth.login("analyst@example.org")
    client.post("/language", data={"lang": "en"})
    assert client.get("/periods").status_code == 200
    bad = client.post("/periods", data={"label": "Autumn", "starts_on": "2026-09-01",
                                        "ends_on": "2026-08-01"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "e.g. 2026-spring" in page and "A period cannot end before it starts." in page
    response = client.post("/periods", data={"label": "2026-autumn", "starts_on": "2026-09-01",
                                             "ends_on": "2026-11-30"})
    assert response.status_code == 302
    assert "The period 2026-autumn was created." in client.get("/periods").get_data(as_text=True)
    period = db.scalar(select(Period))
    assert (period.label, period.starts_on, period.ends_on) == (
        "2026-autumn", date(2026, 9, 1), date(2026, 11, 30))
    again = client.post("/periods", data={"label": "2026-autumn", "starts_on": "2026-09-01",
                                          "ends_on": "2026-11-30"})
    assert again.status_code == 400 and "exists already" in again.get_data(as_text=True)


def test_leaders_cannot_create_periods(client, make_user, make_network, auth):
    make_user("l@example.org", role="leader", network=make_network())
    auth.login("l@example.org")
    assert client.get("/periods").status_code == 404
    assert client.post("/periods", data={"label": "2026-x", "starts_on": "2026-01-01",
                                         "ends_on": "2026-02-01"}).status_code == 404


def test_a_draft_cannot_be_extended_to_close_before_it_opens(leader, db, open_round):
    open_round.state, open_round.opens_on = "draft", TODAY + timedelta(days=10)
    db.commit()
    response = leader.post(f"/rounds/{open_round.id}/extend", data={"extend-closes_on": iso(5)})
    assert response.status_code == 400
    assert "The closing date must come after the opening date." in response.get_data(
        as_text=True)
    refresh(db)
    assert db.get(Round, open_round.id).closes_on == TODAY + timedelta(days=20)


def test_an_admin_sees_every_network_and_may_filter_by_one(client, db, make_user, auth,
                                                           make_network, open_round):
    other = make_network("Inland")
    db.commit()
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    page = client.get("/rounds").get_data(as_text=True)
    assert "Kustens nätverk" in page
    assert f'<option value="{other.id}">Inland</option>' in page
    only = client.get(f"/rounds?network={other.id}").get_data(as_text=True)
    assert "/manage" not in only
    assert client.get(manage_url(open_round)).status_code == 200


def test_a_leader_cannot_filter_the_list_by_another_network(leader, db, make_network):
    other = make_network("Inland")
    db.commit()
    assert leader.get(f"/rounds?network={other.id}").status_code == 404


# -- the rounds list: responses of imported rounds, invitations of invited ones -----------------


@pytest.fixture
def imported_and_invited(db, runner, tmp_path, open_round):
    """Three imported responses of one round (no invitations, so no "0 of 0"), and a round
    with two invitations, one answered, one submitted response and one draft."""
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, [
        f"R1,Imported network,2025-autumn,r{i},A,2025-10-20T12:00:00," + ",".join(["3"] * 11)
        + "," for i in range(3)])
    for email in ("anna@example.fi", "bo@example.fi"):
        result = runner.invoke(args=["invitations", "create", "--network", "Kustens nätverk",
                                     "--period", open_round.period.label, "--email", email])
        assert result.exit_code == 0, result.output
    refresh(db)
    answered = db.scalar(select(Invitation).where(Invitation.email == "anna@example.fi"))
    answered.answered_at = answered.sent_at
    db.add_all([
        Response(round_id=open_round.id, respondent_key="k1", status=SUBMITTED,
                 submitted_at=answered.sent_at),
        Response(round_id=open_round.id, respondent_key="k2", status=DRAFT),
    ])
    db.commit()
    return open_round


def list_cells(page: str, network: str) -> list[str]:
    """The text of the cells of the rounds list's row of `network`."""
    row = re.search(rf"<tr>(?:(?!</tr>).)*>{network}</a>.*?</tr>", page, re.S)
    assert row, f"{network} is not listed"
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]


def test_the_rounds_list_shows_submitted_responses_and_answered_invitations(
    client, db, make_user, auth, imported_and_invited
):
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    client.post("/language", data={"lang": "en"})
    page = client.get("/rounds").get_data(as_text=True)
    assert "Submitted responses" in page
    imported = list_cells(page, "Imported network")
    assert imported[-2:] == ["3", "–"]
    invited = list_cells(page, "Kustens nätverk")
    assert invited[-2:] == ["1", "1 of 2 answered"]
    assert "anna@example.fi" not in page and "bo@example.fi" not in page

    client.post("/language", data={"lang": "sv"})
    page = client.get("/rounds").get_data(as_text=True)
    assert list_cells(page, "Imported network")[-2:] == ["3", "–"]
    assert list_cells(page, "Kustens nätverk")[-2:] == ["1", "1 av 2 har svarat"]
    assert "0 av 0" not in page


def test_rounds_list_in_the_cli_shows_submitted_responses_and_answered_invitations(
    runner, imported_and_invited
):
    listed = runner.invoke(args=["rounds", "list"])
    assert listed.exit_code == 0, listed.output
    lines = {line.split("\t")[1]: line for line in listed.output.splitlines()}
    assert lines["Imported network"].endswith("\t3 submitted")
    assert lines["Kustens nätverk"].endswith("\t1 submitted, 1/2 invited answered")
    assert "@" not in listed.output
