"""Attacks through content: stored XSS and template injection, SSRF and file reads through the
PDF renderer, SQL injection in query parameters, hostile answers, files and YAML."""

from __future__ import annotations

import http.server
import re
import threading
import uuid
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assess.models import Answer, Network, Organization, Practice, QuestionnaireVersion, Response

from .conftest import login
from .test_access_matrix import ROUTES, url_arguments

XSS = "<script>alert('xss-mark')</script>"
SSTI = "{{7*7}}ssti-mark"
GET_ROUTES = [(key, endpoint, rule) for key, endpoint, rule in ROUTES if key.startswith("GET ")]
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")


def import_csv(runner, tmp_path, rows, name="responses.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])


def get_url(app, rule: str, values: dict) -> str:
    [matching] = [r for r in app.url_map.iter_rules() if r.rule == rule and "GET" in r.methods]
    return matching.build({a: values[a] for a in matching.arguments}, append_unknown=False)[1]


# -- stored XSS and template injection ---------------------------------------------------------


@pytest.fixture
def hostile_round(app, db, world, runner, tmp_path):
    """An imported, shown round of network A whose texts and names are attacks."""
    rows = []
    for n in range(12):
        organization = [f"Org {XSS}", f"Org {SSTI}", "Org A"][n % 3]
        note = [f"Note {XSS}", f"Note {SSTI}", f'"><img src=x onerror=alert(1)> note {n}'][n % 3]
        rows.append(f'Region R,Network A,2025-autumn,r{n},"{organization}",'
                    f'2025-10-0{1 + n % 9}T10:00:00,{1 + n % 5},4,3,2,5,4,3,2,1,2,3,'
                    f'"{note.replace(chr(34), chr(34) * 2)}"')
    result = import_csv(runner, tmp_path, rows)
    assert result.exit_code == 0, result.output
    db.rollback()
    network = db.get(Network, world.network_a)
    network.description = f"Description {XSS} {SSTI}"
    db.add(Practice(network_id=world.network_a, title=f"Title {XSS} {SSTI}",
                    body=f"Body {XSS} {SSTI} and enough words to be a practice.", language="en",
                    is_published=True))
    db.commit()
    from assess.models import Round

    return db.scalar(select(Round.id).where(Round.network_id == world.network_a,
                                            Round.id != world.round_a))


@pytest.mark.parametrize("role", ["admin", "leader_a", "coordinator_r", "analyst"])
def test_hostile_texts_are_shown_escaped_everywhere(app, client, db, world, hostile_round, role):
    login(client, world, role)
    values = {**url_arguments(world), "round_id": hostile_round}
    shown = False
    for key, _endpoint, rule in GET_ROUTES:
        with client.get(get_url(app, rule, values)) as response:
            if response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
        assert "<script>alert(" not in html, key
        assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), key
        assert "<img src=x" not in html, key
        assert "49ssti-mark" not in html, key
        if "&lt;script&gt;alert(" in html:
            shown = True
            assert "{{7*7}}ssti-mark" in html, key
    if role in ("admin", "leader_a", "coordinator_r"):
        assert shown, "the hostile texts were shown (escaped) somewhere"


def test_the_pdf_shows_hostile_texts_literally(app, client, world, hostile_round):
    from pypdf import PdfReader

    login(client, world, "leader_a")
    response = client.get(f"/rounds/{hostile_round}/report.pdf")
    assert response.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "<script>alert('xss-mark')</script>" in flat or "alert('xss-mark')" in flat
    assert "{{7*7}}ssti-mark" in flat
    assert "49ssti-mark" not in flat


def test_report_charts_keep_to_the_style_policy(app, client, world, hostile_round):
    login(client, world, "leader_a")
    html = client.get(f"/rounds/{hostile_round}/report").get_data(as_text=True)
    assert "<svg" in html  # the charts are there, inline
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"<style\b", html)


def test_national_charts_draw_dollar_signs_in_labels_as_text():
    """A region named with two "$" would be read as mathematics by matplotlib and fail."""
    from assess.reports import national_charts

    label = r"Region $\nosuchcommand$ and $x^$"
    svg = national_charts.distribution_chart(
        [{"label": label, "scores": [40, 50, 60], "p25": 45, "median": 50, "p75": 55}],
        {"median": 50, "p25": 45, "p75": 55}, score_label=label, national_label=label,
        threshold=60)
    assert svg.startswith("<svg")
    assert "nosuchcommand" in svg  # kept in the SVG's text copy, as written


def test_national_chart_svg_carries_hostile_labels_only_as_escaped_text():
    """Region names and titles reach the national charts; the SVG inlined in the PDF keeps
    them as glyph paths and an escaped XML comment, never as markup."""
    from assess.reports import national_charts

    hostile = "R <script>x</script>--><img src=x> {{7*7}}"
    svg = national_charts.distribution_chart(
        [{"label": hostile, "scores": [40, 50, 60], "p25": 45, "median": 50, "p75": 55}],
        {"median": 50, "p25": 45, "p75": 55}, score_label=hostile, national_label=hostile,
        threshold=60)
    assert svg.startswith("<svg")
    assert "<script" not in svg and "<img" not in svg
    for comment in re.findall(r"<!--(.*?)-->", svg, flags=re.S):
        assert "--" not in comment and "<" not in comment


def test_national_pdf_charts_are_markup_from_the_service_fresh_and_cached(app, db,
                                                                          monkeypatch):
    """The PDF template inlines the charts without `|safe`: the service hands out Markup,
    whether it drew the charts now or took them from the cache."""
    from markupsafe import Markup

    from assess.services import national

    monkeypatch.setattr(national, "chart_set", lambda *args, **kwargs: {
        "distribution": "<svg><path d='M0 0'/></svg>", "stages": None, "funnel": None,
        "trend": None})
    data = {"regions": [], "national": {}, "stages": None, "stage_threshold": 60,
            "distribution": {}, "funnel": {}, "trends": {}}
    with app.app_context():
        for _ in range(2):  # drawn and kept, then read back from the cache
            charts = national.cached_chart_set(data, "trust", "Trust", "en", session=db)
            db.commit()
            assert isinstance(charts["distribution"], Markup)
            assert charts["stages"] is None
    from assess.models import RenderedReport

    assert db.scalar(select(func.count()).select_from(RenderedReport).where(
        RenderedReport.key.like("national-charts:%"))) == 1
    template = (Path(__file__).parents[2] / "templates" / "national" / "pdf" / "report.html")
    assert "|safe" not in template.read_text(encoding="utf-8").replace(" ", "")


def test_exports_neutralise_spreadsheet_formulas(app, client, db, world, runner, tmp_path):
    """A network named like a formula (imports create networks by name) stays text."""
    formula = '=HYPERLINK("http://evil.example","x")'
    quoted = formula.replace('"', '""')
    rows = [f'Region R,"{quoted}",2025-autumn,r{n},Org A,2025-10-01T10:00:00,'
            f'{1 + n % 5},4,3,2,5,4,3,2,1,2,3,' for n in range(12)]
    assert import_csv(runner, tmp_path, rows).exit_code == 0
    db.rollback()
    from assess.models import Round

    round_id = db.scalar(select(Round.id).join(Network, Round.network_id == Network.id)
                         .where(Network.name == formula))
    login(client, world, "admin")
    for table in ("dimensions", "items"):
        body = client.get(f"/rounds/{round_id}/report.csv", query_string={"table": table}).text
        assert "HYPERLINK" in body, table  # the name is exported...
        assert not re.search(r'(^|,)"?=HYPERLINK', body, re.MULTILINE), table  # ...as text
    book = client.get(f"/rounds/{round_id}/report.xlsx").data
    with zipfile.ZipFile(BytesIO(book)) as archive:
        xml = " ".join(archive.read(n).decode() for n in archive.namelist()
                       if n.startswith("xl/"))
    assert "HYPERLINK" in xml
    assert "<f>" not in xml and ">=HYPERLINK" not in xml


# -- SSRF and file reads through the PDF renderer ----------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the base class's name
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    _Recorder.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_pdf_renderer_fetches_nothing_from_the_network_or_the_disk(loopback_server,
                                                                        tmp_path):
    from pypdf import PdfReader

    from assess.reports.pdf import render_pdf

    url, requests = loopback_server
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    html = f"""<html><head>
      <link rel="stylesheet" href="{url}/style.css">
      <style>@import url("{url}/import.css"); body {{ background: url("{url}/bg.png"); }}</style>
      </head><body>
      <p>Report</p>
      <img src="{url}/image.png">
      <img src="file:///etc/passwd">
      <img src="file://{secret}">
      <object data="file://{secret}"></object>
      <iframe src="{url}/frame"></iframe>
      <a href="{url}/link">link</a>
    </body></html>"""
    pdf = render_pdf(html, stylesheets=(f'@import url("{url}/sheet.css");',))
    assert requests == []
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "TOP-SECRET" not in text and "root:" not in text
    assert b"TOP-SECRET" not in pdf and b"root:x:" not in pdf


# -- SQL injection -----------------------------------------------------------------------------

SQL_PAYLOADS = ["' OR 1=1--", "1 OR 1=1", "'; DROP TABLE users;--", '" OR ""="',
                "1 UNION SELECT email FROM users--", "%' OR '1'='1"]


def query_parameters() -> list[str]:
    """Every query parameter the views read (request.args.get("name") and getlist)."""
    views = Path(__file__).parents[2] / "assess" / "views"
    names = set()
    for path in views.glob("*.py"):
        names |= set(re.findall(r"request\.args\.get(?:list)?\(\s*[\"']([a-z_]+)[\"']",
                                path.read_text(encoding="utf-8")))
    return sorted(names | {"next", "page", "sort", "q", "id"})


@pytest.mark.parametrize("role", ["leader_b", "admin"])
def test_sql_injection_in_query_parameters_gets_no_error_and_no_data(app, client, db, world,
                                                                      role):
    login(client, world, role)
    others = [email for name, email in world.emails.items() if name != role]
    params = query_parameters()
    assert {"table", "period", "questionnaire"} <= set(params)
    for key, _endpoint, rule in GET_ROUTES:
        if rule.startswith("/static/"):
            continue
        url = get_url(app, rule, url_arguments(world))
        with client.get(url) as baseline:
            base_text = baseline.get_data().decode("utf-8", "replace")
            base_status = baseline.status_code
        for payload in SQL_PAYLOADS:
            with client.get(url, query_string={name: payload for name in params}) as response:
                status = response.status_code
                body = response.get_data().decode("utf-8", "replace")
            assert status < 500, (key, payload, status)
            assert status in (base_status, 400, 404, 302), (key, payload, status, base_status)
            leaked = [e for e in others if e in body and e not in base_text]
            assert not leaked, (key, payload, leaked)
            if role == "leader_b" and "Network A" not in base_text:
                assert "Network A" not in body, (key, payload)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Response.__table__)) == 0
    from assess.models import User

    assert db.scalar(select(func.count(User.id))) == len(world.emails)


# -- hostile answers ---------------------------------------------------------------------------


def test_out_of_scale_values_and_unknown_items_are_refused(app, client, db, world):
    from assess.models import Round

    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    db.commit()
    client.get(f"/s/{world.token_a}")
    for data in ({"item_a1": "6"}, {"item_a1": "0"}, {"item_a1": "-1"}, {"item_a1": "3.5"},
                 {"item_a1": "1 OR 1=1"}, {"item_zz": "3"}, {"item_t1": "3"},
                 {"item_a1": ["3", "4"]}):
        response = client.post("/survey/page/1", data=data)
        assert response.status_code == 400, data
    db.rollback()
    assert db.scalar(select(func.count(Answer.id))) == 0
    assert db.scalar(select(func.count(Response.id))) == 0


# -- hostile files -----------------------------------------------------------------------------


def test_a_zip_renamed_to_csv_is_refused_by_the_import_and_the_invitation_upload(
        app, client, db, world, runner, tmp_path):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("responses.csv", HEADER + "\n")
    path = tmp_path / "responses.csv"
    path.write_bytes(buffer.getvalue())
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 1 and "not a CSV text file" in result.output

    from assess.models import Invitation, Round

    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    db.commit()
    login(client, world, "leader_a")
    response = client.post(f"/rounds/{world.round_a}/invitations/list",
                           data={"list-upload": (BytesIO(buffer.getvalue()), "members.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    db.rollback()
    assert db.scalar(select(func.count(Invitation.id))) == 1


@pytest.mark.parametrize(("delimiter", "bom"), [(",", False), (",", True), (";", False),
                                               (";", True)])
def test_imports_read_utf8_with_or_without_bom_and_either_delimiter(app, db, world, runner,
                                                                    tmp_path, delimiter, bom):
    rows = [f"Region R,Network A,2025-autumn,enc{n},Åbo Akademi,2025-10-01T10:00:00,"
            f"3,4,3,2,5,4,3,2,1,2,3,Väl fungerande" for n in range(3)]
    text = "\n".join([HEADER, *rows]).replace(",", delimiter) + "\n"
    path = tmp_path / "encoded.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert db.scalar(select(func.count(Organization.id)).where(
        Organization.name == "Åbo Akademi")) == 1


def test_a_csv_not_in_utf8_is_refused_with_a_clear_message_and_nothing_stored(
        app, client, db, world, runner, tmp_path):
    rows = [f"Region R,Network A,2025-autumn,w{n},{'Åbo' if n == 2 else 'Org'},"
            f"2025-10-01T10:00:00,3,4,3,2,5,4,3,2,1,2,3," for n in range(4)]
    raw = ("\n".join([HEADER, *rows]) + "\n").encode("cp1252")  # Excel's "CSV" on Windows
    path = tmp_path / "windows.csv"
    path.write_bytes(raw)
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 1
    assert "line 4: the file is not UTF-8 text; save it as CSV UTF-8" in result.output
    db.rollback()
    assert db.scalar(select(func.count(Response.id))) == 0

    from assess.models import Invitation, Round

    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    db.commit()
    login(client, world, "leader_a")
    client.post("/language", data={"lang": "en"})
    members = "email,organization\nsomeone@example.org,Åbo stad\n".encode("cp1252")
    response = client.post(f"/rounds/{world.round_a}/invitations/list",
                           data={"list-upload": (BytesIO(members), "members.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "not a CSV file in UTF-8; save it as CSV UTF-8" in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(Invitation.id))) == 1


def test_an_import_failing_on_row_500_of_1000_stores_nothing_and_twice_stores_no_duplicates(
        app, db, world, runner, tmp_path):
    def row(n, value="3"):
        return (f"Region R,Network A,2025-autumn,r{n:04d},Org {n % 7},2025-10-01T10:00:00,"
                f"{value},4,3,2,5,4,3,2,1,2,3,")

    organizations = db.scalar(select(func.count(Organization.id)))
    rows = [row(n, "9" if n == 499 else "3") for n in range(1000)]  # data line 500
    result = import_csv(runner, tmp_path, rows)
    assert result.exit_code == 1
    assert "line 501: column 'a1': '9' is not a value" in result.output
    db.rollback()
    assert db.scalar(select(func.count(Response.id))) == 0
    assert db.scalar(select(func.count(Organization.id))) == organizations

    good = [row(n) for n in range(1000)]
    assert import_csv(runner, tmp_path, good, "good.csv").exit_code == 0
    again = import_csv(runner, tmp_path, good, "good.csv")
    assert again.exit_code == 1 and "already stored" in again.output
    db.rollback()
    assert db.scalar(select(func.count(Response.id))) == 1000
    assert db.scalar(select(func.count(Answer.id))) == 1000 * 11


PYTHON_OBJECT = """
id: evil
version: 1
title: !!python/object/apply:os.system ["touch {marker}"]
"""
ALIAS_BOMB = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize("command", ["validate", "load"])
def test_yaml_with_python_tags_runs_nothing(app, db, runner, tmp_path, command):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    path = tmp_path / "evil.v1.yaml"
    path.write_text(PYTHON_OBJECT.format(marker=marker), encoding="utf-8")
    result = runner.invoke(args=["questionnaires", command, str(path)])
    assert result.exit_code != 0
    assert "not valid YAML" in result.output
    assert not marker.exists()
    db.rollback()
    assert db.scalar(select(func.count(QuestionnaireVersion.id))) == 0


@pytest.mark.parametrize("command", ["validate", "load"])
def test_a_yaml_alias_bomb_is_refused_at_once(app, db, runner, tmp_path, command):
    import time

    path = tmp_path / "bomb.v1.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    start = time.monotonic()
    result = runner.invoke(args=["questionnaires", command, str(path)])
    assert time.monotonic() - start < 5
    assert result.exit_code != 0
    assert "aliases" in result.output
    db.rollback()
    assert db.scalar(select(func.count(QuestionnaireVersion.id))) == 0


def test_an_oversized_yaml_file_is_refused(app, runner, tmp_path):
    path = tmp_path / "big.v1.yaml"
    path.write_text("id: big\nversion: 1\n" + "# padding\n" * 200_000, encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "validate", str(path)])
    assert result.exit_code != 0 and "larger than" in result.output
