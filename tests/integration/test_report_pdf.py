"""The report PDF: the same figures as the JSON in each language, A4, cached in the database."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update
from tiny_import import TINY, import_rows

from assess.models import Network, RenderedReport, Round
from assess.questionnaire import load_questionnaire_file
from assess.services import schedule
from assess.services.questionnaires import load_into_db

N1_SPRING = [
    "R1,Čáhcegáddi ŋ network,2026-spring,r1,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,4,Bra",
    "R1,Čáhcegáddi ŋ network,2026-spring,r2,A,2026-03-15T11:00:00,3,5,4,2,3,,2,2,4,2,3,",
    "R1,Čáhcegáddi ŋ network,2026-spring,r3,B,2026-03-16T09:00:00,4,4,5,5,1,1,dk,dk,3,5,2,",
    "R1,Čáhcegáddi ŋ network,2026-spring,r4,,2026-03-17T09:00:00,5,4,3,3,2,4,3,3,5,3,5,",
]
AUTUMN = [
    f"R1,Čáhcegáddi ŋ network,2025-autumn,a{i},{org},2025-10-20T12:00:00,"
    + ",".join(["2"] * 11) + ","
    for i, org in enumerate(["A", "B", "C"])
]
NAME = "Čáhcegáddi ŋ network"


@pytest.fixture
def data(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, AUTUMN, "autumn.csv")
    import_rows(runner, tmp_path, N1_SPRING, "spring.csv")
    network = db.scalar(select(Network).where(Network.name == NAME))
    rounds = {r.period.label: r for r in db.scalars(select(Round).where(
        Round.network_id == network.id))}
    return {"network": network, "round": rounds["2026-spring"]}


def login_leader(client, make_user, network, lang):
    user = make_user(role="leader", network=network)
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    client.post("/language", data={"lang": lang, "next": "/"})


def fmt(value, lang):
    text = f"{abs(value):.1f}"
    text = text.replace(".", ",") if lang in ("sv", "fi") else text
    return ("-" if value < 0 else "") + text


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("lang", ["sv", "fi", "en"])
def test_every_score_in_the_pdf_equals_the_json(data, client, make_user, lang):
    login_leader(client, make_user, data["network"], lang)
    round_id = data["round"].id
    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    response = client.get(f"/rounds/{round_id}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.data
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = pdf_text(body)
    assert NAME in text  # Sami letters survive (Report Sans = DejaVu Sans)
    assert fmt(report["overall"], lang) in text
    for dim in report["dimensions"]:
        assert dim["title"] in text
        assert fmt(dim["score"], lang) in text, dim["id"]
        if dim["ci95"]:
            assert f"{fmt(dim['ci95'][0], lang)}–{fmt(dim['ci95'][1], lang)}" in text
        assert fmt(dim["benchmark"]["national_percentile"], lang) in text
        delta = dim["trend"]["delta"]
        assert ("+" if delta > 0 else "\u2212" if delta < 0 else "") + fmt(abs(delta), lang) in text
    assert report["period"] == "2026-spring" and report["region"] in text
    assert {"sv": "våren 2026", "fi": "kevät 2026", "en": "spring 2026"}[lang] in text
    # footer "page X of Y" and a table of contents with page numbers
    pages = len(reader.pages)
    assert re.search(rf"\b2\D+{pages}\b", reader.pages[1].extract_text())
    assert re.search(r"\.{5,}\s*\d", reader.pages[0].extract_text())


def test_second_request_is_served_from_the_database_cache(data, client, make_user,
                                                          render_calls, db):
    login_leader(client, make_user, data["network"], "sv")
    url = f"/rounds/{data['round'].id}/report.pdf"
    first = client.get(url).data
    second = client.get(url).data
    assert len(render_calls) == 1
    assert first == second
    cached = db.get(RenderedReport, f"round:{data['round'].id}:pdf:sv")
    assert cached is not None and cached.body == first
    assert cached.data_version.startswith(f"{data['round'].data_version}:")
    # another language is another rendering
    client.post("/language", data={"lang": "en", "next": "/"})
    client.get(url)
    assert len(render_calls) == 2


def test_new_data_for_the_round_renders_the_pdf_again(data, client, make_user, render_calls,
                                                      runner, tmp_path, db):
    login_leader(client, make_user, data["network"], "sv")
    url = f"/rounds/{data['round'].id}/report.pdf"
    client.get(url)
    version_before = data["round"].data_version
    import_rows(runner, tmp_path, [
        f"R1,{NAME},2026-spring,r5,B,2026-03-18T09:00:00,1,1,1,1,1,1,1,1,1,1,1,"], "more.csv")
    db.expire_all()
    assert db.get(Round, data["round"].id).data_version > version_before
    after = client.get(url).data
    assert len(render_calls) == 2
    report = client.get(f"/rounds/{data['round'].id}/report.json").get_json()
    assert report["respondents"] == 5
    assert fmt(report["overall"], "sv") in pdf_text(after)
    client.get(url)
    assert len(render_calls) == 2
    assert db.scalar(select(func.count()).select_from(RenderedReport)) == 1


def test_a_new_target_renders_the_pdf_again(data, client, make_user, render_calls, db):
    from assess.models import Period

    db.add(Period(label="2027-spring", first_submitted_at=None,
                  starts_on=__import__("datetime").date(2027, 3, 1)))
    db.commit()
    login_leader(client, make_user, data["network"], "en")
    round_id = data["round"].id
    client.get(f"/rounds/{round_id}/report.pdf")
    period = db.scalar(select(Period).where(Period.label == "2027-spring"))
    response = client.post(f"/rounds/{round_id}/targets",
                           data={"period": str(period.id), "dim_trust": "5"})
    assert response.status_code == 302
    body = client.get(f"/rounds/{round_id}/report.pdf").data
    assert len(render_calls) == 2
    assert "spring 2027" in pdf_text(body)  # the target's period, in words


def test_suppressed_round_pdf_says_why_only(db, runner, tmp_path, client, make_user):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, N1_SPRING[:2])
    network = db.scalar(select(Network).where(Network.name == NAME))
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    login_leader(client, make_user, network, "en")
    text = pdf_text(client.get(f"/rounds/{round_.id}/report.pdf").data)
    assert "Fewer than 3 responses were received" in text
    assert "Overall score" not in text


def test_cli_writes_pdf_html_and_csv(data, runner, tmp_path):
    out = tmp_path / "report.pdf"
    base = ["report", "--network", NAME, "--period", "2026-spring", "--lang", "fi"]
    result = runner.invoke(args=[*base, "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "Vaihe yksi" in text and "83,3" in text
    html_out = tmp_path / "report.html"
    result = runner.invoke(args=[*base, "--format", "html", "-o", str(html_out)])
    assert result.exit_code == 0, result.output
    html = html_out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'lang="fi"' in html and "83,3" in html
    assert "<svg" in html and "@page" in html
    result = runner.invoke(args=[*base, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("network,region,period")
    assert ",stage-1,Vaihe yksi," in result.stdout


def test_cli_report_of_unknown_network_fails_plainly(data, runner):
    result = runner.invoke(args=["report", "--network", "Nope", "--period", "2026-spring",
                                 "--format", "pdf", "-o", "x.pdf"])
    assert result.exit_code != 0
    assert "There is no network named 'Nope'" in result.output


def test_tick_renders_the_pdfs_of_the_rounds_it_closes_into_the_cache(data, app, db, client,
                                                                      make_user, render_calls):
    from datetime import date

    round_id = data["round"].id
    db.execute(update(Round).where(Round.id == round_id)
               .values(state="open", closes_on=date(2026, 3, 31)))
    db.commit()
    with app.app_context():
        report = schedule.tick(db, date(2026, 4, 1), lambda mail: None, "secret", "https://x",
                               min_respondents=app.config["MIN_RESPONDENTS"])
    assert (report.closed, report.prerendered) == (1, 3)
    assert "Report PDFs rendered: 3" in report.format()
    assert len(render_calls) == 3
    db.rollback()
    assert set(db.scalars(select(RenderedReport.key))) == {
        f"round:{round_id}:pdf:{lang}" for lang in ("sv", "fi", "en")}
    # the leader's download the next morning comes from the cache, with the same scores
    login_leader(client, make_user, data["network"], "fi")
    response = client.get(f"/rounds/{round_id}/report.pdf")
    assert response.status_code == 200 and len(render_calls) == 3
    overall = client.get(f"/rounds/{round_id}/report.json").get_json()["overall"]
    assert fmt(overall, "fi") in pdf_text(response.data)
    with app.app_context():  # nothing closes the next day: nothing is rendered
        again = schedule.tick(db, date(2026, 4, 2), lambda mail: None, "secret", "https://x")
    assert (again.closed, again.prerendered) == (0, 0)


def test_pdf_chart_is_vector_with_its_text_as_text_and_png_is_the_alternative(
        data, app, client, make_user):
    from flask_babel import force_locale

    from assess.services import report_render

    login_leader(client, make_user, data["network"], "en")
    round_id = data["round"].id
    body = client.get(f"/rounds/{round_id}/report.pdf").data
    text = pdf_text(body)
    assert "Scores by dimension, compared with others." in text  # the caption
    assert "Strongest:" in text  # the chart's text description, in its caption
    assert "This network National median" in text  # the legend inside the chart: text
    reader = PdfReader(io.BytesIO(body))
    assert not [image for page in reader.pages for image in page.images]

    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    with app.test_request_context(), force_locale("en"):
        png = report_render.render_report_pdf(report, chart_format="png")
    reader = PdfReader(io.BytesIO(png))
    # WeasyPrint shares one resource dictionary between pages: count distinct images
    images = {image.data: image for page in reader.pages for image in page.images}
    assert len(images) == 1  # the radar, drawn at 150 dpi across 150 mm
    assert next(iter(images.values())).image.width >= 900
    assert "Scores by dimension, compared with others." in pdf_text(png)


def test_pdf_names_the_period_and_questionnaire_in_words_of_the_reader(data, client, make_user):
    login_leader(client, make_user, data["network"], "fi")
    text = " ".join(pdf_text(client.get(f"/rounds/{data['round'].id}/report.pdf").data).split())
    assert "kevät 2026" in text and "syksy 2025" in text
    assert "2026-spring" not in text and "2025-autumn" not in text
    assert "Pieni, versio 1" in text  # the questionnaire's title, not its id "tiny"
    assert "Kauteen syksy 2025 verrattuna pisteet ovat nousseet" in text


def test_a_download_while_every_render_slot_is_taken_answers_busy_and_then_succeeds(
        app, data, client, make_user, tmp_path):
    from assess.render_slots import render_slot

    slots = tmp_path / "slots"
    app.config.update(PDF_RENDER_SLOTS=1, PDF_RENDER_SLOT_DIR=str(slots))
    login_leader(client, make_user, data["network"], "en")
    url = f"/rounds/{data['round'].id}/report.pdf"
    with render_slot(1, slots):  # another worker of this host is rendering
        busy = client.get(url)
    # At once, without waiting for the slot: the worker is free for the answering pages.
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5" and busy.headers["Cache-Control"] == "no-store"
    page = busy.get_data(as_text=True)
    assert "try the download again in a few seconds" in page and f'href="{url}"' in page
    assert client.get(url).data.startswith(b"%PDF")
    with render_slot(1, slots):  # a cached PDF needs no slot
        cached = client.get(url)
    assert cached.status_code == 200 and cached.data.startswith(b"%PDF")


def test_the_report_command_waits_for_a_render_slot_instead_of_failing(app, data, runner,
                                                                       tmp_path):
    import threading

    from assess.render_slots import render_slot

    slots = tmp_path / "slots"
    app.config.update(PDF_RENDER_SLOTS=1, PDF_RENDER_SLOT_DIR=str(slots))
    held, release = threading.Event(), threading.Event()

    def web_worker_rendering():
        with render_slot(1, slots):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=web_worker_rendering)
    worker.start()
    held.wait(10)
    threading.Timer(1.0, release.set).start()
    out = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "--network", NAME, "--period", "2026-spring",
                                 "--format", "pdf", "--lang", "en", "-o", str(out)])
    worker.join()
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
