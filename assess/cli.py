"""The `assess` command: Flask's own commands plus the project's, thin wrappers over services.

Heavy libraries (pandas, WeasyPrint, matplotlib) are imported inside the commands
that need them, so `assess --help` starts fast.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from . import create_app

    return create_app()


class AssessGroup(FlaskGroup):
    """Flask's command group, but `assess --help` lists the commands without the app.

    FlaskGroup builds the app to add `app.cli`'s commands to the list, and building it
    imports every blueprint and with them pandas, scipy, matplotlib and WeasyPrint
    (seconds). The app adds no commands of its own: register_commands() puts this
    group's commands on app.cli too. A command that only an app or extension defines
    is still found by name, since get_command falls back to building the app.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(self.commands)


@click.group(cls=AssessGroup, create_app=_create_app)
def cli() -> None:
    """Survey and maturity assessment for collaboration networks."""


def main() -> None:
    try:
        cli.main(prog_name="assess")
    except Exception as exc:
        # assess.db (and with it SQLAlchemy, ~0.2 s) is imported only by commands that
        # use the database, never for --help; a DatabaseConfigError comes from there.
        db = sys.modules.get("assess.db")
        if db is None or not isinstance(exc, db.DatabaseConfigError):
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


def fail(message: str) -> None:
    """One clear sentence on stderr and a non-zero exit; nothing was written."""
    raise click.ClickException(message)


def _session():
    from .db import get_session

    return get_session()


# -- database ------------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.option("--no-questionnaires", is_flag=True, help="Do not load questionnaires/ afterwards.")
@with_appcontext
def db_upgrade(revision: str, no_questionnaires: bool) -> None:
    """Build or upgrade the schema, then load the files in questionnaires/."""
    from . import migrate
    from .db import get_engine

    try:
        migrate.upgrade(get_engine(), revision)
    except Exception as exc:  # a connection or permission problem: one sentence, not a trace
        fail(f"The database could not be upgraded: {exc.__class__.__name__}: {exc}".split("\n")[0])
    click.echo(f"Database schema is at {revision}.")
    if not no_questionnaires:
        _load_questionnaire_directory()


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION ('base' removes everything)."""
    from . import migrate
    from .db import get_engine

    migrate.downgrade(get_engine(), revision)
    click.echo(f"Database schema is at {revision}.")


# -- questionnaires --------------------------------------------------------------------------


@cli.group("questionnaires")
def questionnaires_group() -> None:
    """Questionnaire files: validate, load, list."""


@questionnaires_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def questionnaires_validate(files: tuple[str, ...]) -> None:
    """Check questionnaire files and list every problem by its path."""
    from .questionnaire import QuestionnaireError, load_questionnaire_file

    failed = False
    for path in files:
        try:
            questionnaire = load_questionnaire_file(path)
        except QuestionnaireError as exc:
            failed = True
            click.echo(f"{path}: {len(exc.problems)} problem(s)", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            continue
        items = sum(len(d.items) for d in questionnaire.dimensions)
        click.echo(
            f"{path}: valid ({questionnaire.id} v{questionnaire.version}, "
            f"{len(questionnaire.dimensions)} dimensions, {items} items)"
        )
    if failed:
        sys.exit(1)


@questionnaires_group.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@with_appcontext
def questionnaires_load(files: tuple[str, ...]) -> None:
    """Load questionnaire files into the database (identical content: no change)."""
    from .questionnaire import QuestionnaireError, load_questionnaire_file
    from .services import questionnaires

    session = _session()
    try:
        results = [questionnaires.load_into_db(session, load_questionnaire_file(p)) for p in files]
    except QuestionnaireError as exc:
        session.rollback()
        fail(str(exc))
    from .services import audit

    audit.record("questionnaire_loaded", user_id=None, detail="command line: " + ", ".join(
        f"{r.row.slug} v{r.row.version}{'' if r.created else ' unchanged'}" for r in results),
        session=session, commit=False)
    session.commit()
    for result in results:
        state = "loaded" if result.created else "already loaded, unchanged"
        click.echo(f"{result.row.slug} v{result.row.version}: {state}")


def _load_questionnaire_directory() -> None:
    from .questionnaire import QuestionnaireError
    from .services import questionnaires

    session = _session()
    try:
        results = questionnaires.load_directory(session)
    except QuestionnaireError as exc:
        session.rollback()
        fail(str(exc))
    created = [r for r in results if r.created]
    if created:  # a version new to the database is an administrative change: audit it
        from .services import audit

        audit.record("questionnaire_loaded", user_id=None, detail="db upgrade: " + ", ".join(
            f"{r.row.slug} v{r.row.version}" for r in created), session=session, commit=False)
    session.commit()
    for result in results:
        if result.created:
            click.echo(f"Loaded questionnaire {result.row.slug} v{result.row.version}.")


@questionnaires_group.command("list")
@with_appcontext
def questionnaires_list() -> None:
    """List loaded questionnaire versions."""
    from .services import questionnaires

    rows = questionnaires.list_versions(_session())
    if not rows:
        click.echo("No questionnaires are loaded.")
    for row in rows:
        definition = questionnaires.definition_of(row)
        title = definition.title.get(definition.default_language, "")
        click.echo(f"{row.slug}\tv{row.version}\t{row.checksum[:12]}\t{title}")


# -- users -------------------------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, help="member, leader, coordinator, analyst or admin")
@click.option("--network", "network_name", help="Network name (member, leader).")
@click.option("--region", "region_name", help="Region name (coordinator).")
@click.option("--language", default="sv", type=click.Choice(["sv", "fi", "en"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email, role, network_name, region_name, language, password_stdin) -> None:
    """Create a user with a role; the password is asked for, or read from stdin."""
    from .services.accounts import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    session = _session()
    try:
        user = create_user(session, email, password, role, network_name, region_name, language)
    except AccountError as exc:
        session.rollback()
        fail(str(exc))
    from .services import audit

    audit.record("user_created", user_id=None, target=f"user:{user.id}",
                 detail=f"command line: role={role}", session=session, commit=False)
    session.commit()
    click.echo(f"Created {user.email} with role {role}.")


@users_group.command("grant")
@click.option("--email", required=True)
@click.option("--role", required=True)
@click.option("--network", "network_name")
@click.option("--region", "region_name")
@with_appcontext
def users_grant(email, role, network_name, region_name) -> None:
    """Give an existing user one more role."""
    from .services.accounts import AccountError, assign_role, find_network, find_region, find_user

    session = _session()
    try:
        user = find_user(session, email)
        if user is None:
            raise AccountError(f"There is no user with the email {email}.")
        network = find_network(session, network_name) if network_name else None
        region = find_region(session, region_name) if region_name else None
        assignment = assign_role(session, user, role, network, region)
    except AccountError as exc:
        session.rollback()
        fail(str(exc))
    from .services import audit

    session.flush()
    audit.record("role_granted", user_id=None, target=f"user:{user.id}",
                 detail=f"command line: role={role} network={assignment.network_id} "
                        f"region={assignment.region_id}", session=session, commit=False)
    session.commit()
    click.echo(f"{email} now has the role {role}.")


def _config_min_respondents() -> int:
    return current_app.config["MIN_RESPONDENTS"]


@cli.command("demo-data")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--networks", default=80, show_default=True, type=click.IntRange(1, 20_000))
@click.option("--periods", default=4, show_default=True, type=click.IntRange(1, 20))
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if data exists.")
@click.option("--scale", type=click.Choice(["demo", "national"]), default="demo",
              help="national: 2,000 networks and about 160,000 responses (benchmarks).")
@with_appcontext
def demo_data_command(seed, networks, periods, if_empty, scale) -> None:
    """Create a realistic demo dataset and print the demo logins."""
    from .services.demo import DemoError, create_demo_data, database_is_empty, demo_logins_text

    session = _session()
    if if_empty and not database_is_empty(session):
        click.echo("The database has data already; no demo data was added.")
        click.echo(demo_logins_text(session))
        return
    size_factor = 1.0
    if scale == "national":
        networks, periods, size_factor = 2000, 4, 2.0
    try:
        summary = create_demo_data(session, seed, networks, periods, _config_min_respondents(),
                                   size_factor=size_factor)
    except DemoError as exc:
        session.rollback()
        fail(str(exc))
    session.commit()
    click.echo(summary.format())


# -- reports -----------------------------------------------------------------------------------


def _write_output(data: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            click.get_binary_stream("stdout").write(data)
        else:
            click.echo(data)
        return
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
        handle.write(data)
    click.echo(f"Wrote {output}.", err=True)


@cli.command("report")
@click.option("--network", "network_name", required=True)
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug")
@click.option("--format", "fmt", type=click.Choice(["json", "html", "pdf", "csv", "xlsx"]),
              default="json", show_default=True)
@click.option("--table", type=click.Choice(["dimensions", "items"]), default="dimensions",
              show_default=True, help="With --format csv: per dimension or per statement.")
@click.option("--lang", type=click.Choice(["sv", "fi", "en"]),
              help="Language of texts and numbers (default: the questionnaire's first).")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@with_appcontext
def report_command(network_name, period_label, questionnaire_slug, fmt, table, lang,
                   output) -> None:
    """A network's maturity report for one period: JSON, HTML, PDF, CSV or XLSX."""
    import json

    from flask_babel import force_locale

    from .render_slots import waiting_for_slots
    from .services import report_exports, report_render
    from .services.reports import ReportError, find_round, network_report

    session = _session()
    try:
        round_ = find_round(session, network_name, period_label, questionnaire_slug)
    except ReportError as exc:
        fail(str(exc))
    if fmt in ("pdf", "xlsx") and output is None and sys.stdout.isatty():
        fail(f"A {fmt.upper()} file is binary; write it to a file with -o FILE.")
    report = network_report(session, round_, lang, _config_min_respondents())
    # Without --lang, the texts come in the questionnaire's first language: so do the labels.
    lang = lang or report["language"]
    with waiting_for_slots(), current_app.test_request_context(), force_locale(lang):
        if fmt == "json":
            data = json.dumps(report, ensure_ascii=False, indent=2)
        elif fmt == "html":
            data = report_render.render_report_document(report)
        elif fmt == "pdf":
            data = report_render.report_pdf(session, round_, lang, _config_min_respondents())
        elif fmt == "csv":
            data = report_exports.report_csv(session, round_, report, table)
        else:
            data = report_exports.report_xlsx(session, round_, report)
    session.commit()  # keeps results recomputed on the way, and a rendered PDF cached
    _write_output(data, output)


@cli.command("national")
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug", required=True)
@click.option("--version", type=int)
@click.option("--theme", help="Only networks of this theme or sector (as on the dashboard).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "pdf"]),
              default="json")
@click.option("--lang", type=click.Choice(["sv", "fi", "en"]),
              help="Language of the PDF (default: the questionnaire's first language).")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@with_appcontext
def national_command(period_label, questionnaire_slug, version, theme, fmt, lang,
                     output) -> None:
    """The national dashboard's figures for one period and questionnaire version.

    json: everything the dashboard shows (the region x dimension table, stages reached,
    distributions, funnel plots and trends of every dimension); csv: the table; xlsx: all
    of it as a workbook; pdf: the national report. Suppressed cells stay empty.
    """
    import json

    from .questionnaire import QuestionnaireError
    from .render_slots import waiting_for_slots
    from .services import national
    from .services.exports import dashboard_csv, national_xlsx
    from .services.questionnaires import definition_of, find_version
    from .services.reports import ReportError

    if fmt in ("pdf", "xlsx") and output is None and sys.stdout.isatty():
        fail(f"A {fmt.upper()} file is binary; write it to a file with -o FILE.")
    session = _session()
    try:
        data = national.national_dashboard(session, period_label, questionnaire_slug, version,
                                           theme, None if fmt != "csv" else [])
    except (ReportError, QuestionnaireError) as exc:
        fail(str(exc))
    if theme and theme not in data["themes"]:
        fail(f"No network with the theme '{theme}' has results in {period_label}; themes: "
             + (", ".join(data["themes"]) or "none"))
    session.commit()
    if fmt == "json":
        _write_output(json.dumps(data, ensure_ascii=False, indent=2), output)
    elif fmt == "csv":
        _write_output(dashboard_csv(data), output)
    elif fmt == "xlsx":
        _write_output(national_xlsx(data), output)
    else:
        definition = definition_of(find_version(session, questionnaire_slug,
                                                data["questionnaire"]["version"]))
        language = lang or definition.default_language
        with waiting_for_slots():
            body = national.national_pdf(
                session, data, language,
                lambda: national.render_national_pdf(session, data, language))
        session.commit()  # keeps the rendered PDF for the next request of the same figures
        _write_output(body, output)


@cli.command("import-responses")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--questionnaire", "questionnaire_slug", required=True)
@click.option("--version", type=int)
@with_appcontext
def import_responses_command(file, questionnaire_slug, version) -> None:
    """Import a wide CSV of responses, all or nothing."""
    from .services.imports import ImportError_, import_responses

    session = _session()
    try:
        summary = import_responses(
            session, file, questionnaire_slug, version, _config_min_respondents()
        )
    except ImportError_ as exc:
        session.rollback()
        click.echo(f"Error: nothing was imported from {file}.", err=True)
        for problem in exc.problems[:20]:
            click.echo(f"  {problem}", err=True)
        if len(exc.problems) > 20:
            click.echo(f"  ... and {len(exc.problems) - 20} more problems", err=True)
        sys.exit(1)
    from .services import audit

    audit.record("responses_imported", user_id=None, target=questionnaire_slug,
                 detail=f"command line: {summary}", session=session, commit=False)
    session.commit()
    click.echo(summary)



# -- periods, rounds, invitations --------------------------------------------------------------

ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _date(value):
    return value.date() if value is not None else None


def _warn_about_base_url() -> None:
    """Mails to members need a public BASE_URL; the default only works on this machine."""
    from urllib.parse import urlsplit

    host = urlsplit(current_app.config.get("BASE_URL") or "").hostname or ""
    if current_app.config.get("MAIL_BACKEND") == "smtp" and host in ("", "localhost", "127.0.0.1"):
        click.echo(
            f"Warning: BASE_URL is {current_app.config.get('BASE_URL')!r}; the links in the mails "
            "work only on this machine (set ASSESS_BASE_URL).",
            err=True,
        )


def _send():
    from .mail import sender_for

    return sender_for(current_app)


@cli.group("periods")
def periods_group() -> None:
    """Survey periods: national waves such as 2026-spring."""


@periods_group.command("create")
@click.argument("label")
@click.option("--starts", required=True, type=ISO_DATE, help="First day, YYYY-MM-DD.")
@click.option("--ends", required=True, type=ISO_DATE, help="Last day, YYYY-MM-DD.")
@with_appcontext
def periods_create(label, starts, ends) -> None:
    """Create a period, e.g. `assess periods create 2026-spring --starts ... --ends ...`."""
    from .services.surveys import SurveyError, create_period

    session = _session()
    try:
        period = create_period(session, label, _date(starts), _date(ends))
    except SurveyError as exc:
        session.rollback()
        fail(str(exc))
    from .services import audit

    audit.record("period_created", user_id=None, target=f"period:{period.id}",
                 detail=f"command line: {period.label}", session=session, commit=False)
    session.commit()
    click.echo(f"Created period {period.label}: {period.starts_on} to {period.ends_on}.")


@periods_group.command("list")
@with_appcontext
def periods_list() -> None:
    """List periods, newest first."""
    from datetime import date

    from sqlalchemy import select

    from .models import Period
    from .services.surveys import is_current

    periods = _session().scalars(select(Period).order_by(*Period.newest_first())).all()
    if not periods:
        click.echo("There are no periods.")
    today = date.today()
    for period in periods:
        current = "current" if is_current(period, today) else ""
        click.echo(f"{period.label}\t{period.starts_on or '-'}\t{period.ends_on or '-'}\t{current}")


@cli.group("rounds")
def rounds_group() -> None:
    """Survey rounds: one network answering one questionnaire in one period."""


@rounds_group.command("open")
@click.option("--network", "network_name", required=True)
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug", required=True)
@click.option("--version", type=int, help="Questionnaire version (default: the newest).")
@click.option("--closes", required=True, type=ISO_DATE, help="Closing date, YYYY-MM-DD.")
@click.option("--opens", type=ISO_DATE, help="Opening date (default: today).")
@with_appcontext
def rounds_open(network_name, period_label, questionnaire_slug, version, closes, opens) -> None:
    """Open a round now, or create a draft that `rounds tick` opens on its opening date."""
    from datetime import date

    from .questionnaire import QuestionnaireError
    from .services.accounts import AccountError, find_network
    from .services.questionnaires import find_version
    from .services.surveys import SurveyError, find_period, open_round

    session = _session()
    try:
        network = find_network(session, network_name)
        period = find_period(session, period_label)
        questionnaire = find_version(session, questionnaire_slug, version)
        round_ = open_round(session, network, period, questionnaire, _date(closes), date.today(),
                            _date(opens))
    except (AccountError, SurveyError) as exc:
        session.rollback()
        fail(str(exc))
    except QuestionnaireError as exc:
        session.rollback()
        fail(f"The {exc.problems[0]}.")
    from .services import audit

    audit.record("round_opened", user_id=None, target=f"round:{round_.id}",
                 detail=f"command line: {round_.state} closes_on={round_.closes_on}",
                 session=session, commit=False)
    session.commit()
    what = f"{network.name}, {period.label}, {questionnaire.slug} v{questionnaire.version}"
    if round_.state == "open":
        click.echo(f"Opened round {round_.id} ({what}) until {round_.closes_on}.")
    else:
        click.echo(f"Created draft round {round_.id} ({what}); it opens on {round_.opens_on} "
                   f"and closes on {round_.closes_on}.")


def _find_round(session, network_name, period_label, questionnaire_slug):
    from .services.reports import ReportError, find_round

    try:
        return find_round(session, network_name, period_label, questionnaire_slug)
    except ReportError as exc:
        session.rollback()
        fail(str(exc))


@rounds_group.command("close")
@click.option("--network", "network_name", required=True)
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug")
@with_appcontext
def rounds_close(network_name, period_label, questionnaire_slug) -> None:
    """Close a round now: results become visible and answers lose their link to people."""
    from .services.surveys import close_round

    session = _session()
    round_ = _find_round(session, network_name, period_label, questionnaire_slug)
    if round_.state == "closed":
        click.echo(f"Round {round_.id} is closed already.")
        return
    close_round(session, round_, _config_min_respondents())
    from .services import audit

    audit.record("round_closed", user_id=None, target=f"round:{round_.id}",
                 detail="command line", session=session, commit=False)
    session.commit()
    click.echo(f"Closed round {round_.id} ({network_name}, {period_label}).")


@rounds_group.command("list")
@click.option("--network", "network_name")
@with_appcontext
def rounds_list(network_name) -> None:
    """List rounds with their dates and response counts."""
    from .models import Round
    from .services.accounts import AccountError, find_network
    from .services.surveys import round_listing

    session = _session()
    query = round_listing()
    if network_name:
        try:
            query = query.where(Round.network_id == find_network(session, network_name).id)
        except AccountError as exc:
            fail(str(exc))
    rows = session.execute(query).all()
    if not rows:
        click.echo("There are no rounds.")
    for round_, network, period, questionnaire, invited, answered, submitted in rows:
        # Imported rounds have responses but no invitations: no "0/0 answered" for them.
        invitations = f", {answered}/{invited} invited answered" if invited else ""
        click.echo(
            f"{round_.id}\t{network}\t{period}\t{questionnaire.slug} v{questionnaire.version}\t"
            f"{round_.state}\t{round_.opens_on or '-'}\t{round_.closes_on or '-'}\t"
            f"{submitted} submitted{invitations}"
        )


@rounds_group.command("tick")
@click.option("--today", type=ISO_DATE, help="Run as if it were this day (default: today).")
@with_appcontext
def rounds_tick(today) -> None:
    """The daily run: open and close rounds on their dates, mail invitations and reminders,
    render the report PDFs of recently closed rounds.

    Safe to run again, and on several hosts at once: on PostgreSQL a run started while
    another one works says so and does nothing. Exits with 1 when a mail could not be
    sent; that mail is retried on the next run.
    """
    from datetime import date

    from .services.schedule import tick, tick_lock

    config = current_app.config
    config.setdefault("REMINDER_DAYS", 3)
    _warn_about_base_url()
    session = _session()
    with tick_lock(session) as alone:
        if not alone:
            click.echo("Another `assess rounds tick` is running on this database; "
                       "this one does nothing.")
            return
        report = tick(
            session,
            _date(today) or date.today(),
            _send(),
            config["SECRET_KEY"],
            config["BASE_URL"],
            int(config["REMINDER_DAYS"]),
            _config_min_respondents(),
        )
    click.echo(report.format())
    if report.failed:
        sys.exit(1)


@cli.group("invitations")
def invitations_group() -> None:
    """Personal survey links for members."""


def _split_problems(message: str) -> list[str]:
    """The service joins its problems with '; ' and starts each with 'line N:'."""
    import re

    return re.split(r"; (?=line \d+:)", message)


def _send_now(session, round_, invitations) -> None:
    """--send: mail now when the round is open; a draft's invitations go out when it opens."""
    from .services.schedule import send_pending_invitations

    if round_.state != "open":
        click.echo(f"The round opens on {round_.opens_on}; the invitations are mailed then.")
        return
    _warn_about_base_url()
    report = send_pending_invitations(
        session, _send(), current_app.config["SECRET_KEY"], current_app.config["BASE_URL"],
        round_id=round_.id, invitation_ids=[i.id for i in invitations],
    )
    click.echo(f"Mailed {report.invited} invitation(s).")
    if report.failed:
        for line in report.failed:
            click.echo(f"  not sent: {line}", err=True)
        click.echo("The mails not sent are retried by the next `assess rounds tick`.", err=True)
        sys.exit(1)


@invitations_group.command("create")
@click.option("--network", "network_name", required=True)
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug")
@click.option("--email", required=True)
@click.option("--organization", help="The member's organisation (created when new).")
@click.option("--language", type=click.Choice(["sv", "fi", "en"]),
              help="The mail's language (default: the questionnaire's).")
@click.option("--send", is_flag=True, help="Mail the link (else only print it).")
@with_appcontext
def invitations_create(network_name, period_label, questionnaire_slug, email, organization,
                       language, send) -> None:
    """Invite one member and print the personal link.

    Without --send nothing is mailed: you hand the link over yourself (the daily run may
    still send the one reminder before closing).
    """
    from .mail import personal_link
    from .services.schedule import mark_handed_over
    from .services.surveys import EMAIL, SurveyError, create_invitation

    email = email.strip()
    if not EMAIL.match(email) or len(email) > 254:
        fail(f"'{email}' is not an email address.")
    session = _session()
    round_ = _find_round(session, network_name, period_label, questionnaire_slug)
    try:
        invitation, token = create_invitation(session, current_app.config["SECRET_KEY"], round_,
                                              email, organization, language)
    except SurveyError as exc:
        session.rollback()
        fail(str(exc))
    if not send:
        mark_handed_over([invitation])
    from .services import audit

    audit.record("invitations_created", user_id=None, target=f"round:{round_.id}",
                 detail="command line: count=1", session=session, commit=False)
    session.commit()
    click.echo(personal_link(current_app.config["BASE_URL"], token))
    if send:
        _send_now(session, round_, [invitation])


@invitations_group.command("import")
@click.option("--network", "network_name", required=True)
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--send", is_flag=True, help="Mail the links (else print them).")
@with_appcontext
def invitations_import(network_name, period_label, questionnaire_slug, file, send) -> None:
    """Invite the members listed in a CSV file (email,organization[,language]), all or nothing.

    Without --send the links are printed (email and link per line) and nothing is mailed.
    """
    from pathlib import Path

    from .mail import personal_link
    from .services.schedule import mark_handed_over
    from .services.surveys import SurveyError, create_invitations, parse_invitation_csv

    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text; save it as CSV UTF-8 and try again.")
    session = _session()
    round_ = _find_round(session, network_name, period_label, questionnaire_slug)
    if round_.state == "closed":
        fail("The round is closed; no more invitations can be sent.")
    try:
        rows = parse_invitation_csv(text, list(current_app.config["LANGUAGES"]))
        created = create_invitations(session, current_app.config["SECRET_KEY"], round_, rows)
    except SurveyError as exc:
        session.rollback()
        click.echo(f"Error: nothing was imported from {file}.", err=True)
        problems = _split_problems(str(exc))
        for problem in problems[:50]:
            click.echo(f"  {problem}", err=True)
        if len(problems) > 50:
            click.echo(f"  ... and {len(problems) - 50} more problems", err=True)
        sys.exit(1)
    invitations = [invitation for invitation, _token in created]
    if not send:
        mark_handed_over(invitations)
    from .services import audit

    audit.record("invitations_created", user_id=None, target=f"round:{round_.id}",
                 detail=f"command line: count={len(created)} from file", session=session,
                 commit=False)
    session.commit()
    click.echo(f"Invited {len(created)} member(s) to round {round_.id}.", err=True)
    if send:
        _send_now(session, round_, invitations)
    else:
        base_url = current_app.config["BASE_URL"]
        for invitation, token in created:
            click.echo(f"{invitation.email}\t{personal_link(base_url, token)}")


# -- accounts, data protection (GDPR) and retention -------------------------------------------


def _existing_user(session, email):
    from .services.accounts import find_user

    user = find_user(session, email)
    if user is None:
        fail(f"There is no user with the email {email.strip()}.")
    return user


@users_group.command("disable")
@click.option("--email", required=True)
@with_appcontext
def users_disable(email) -> None:
    """Disable a user: they can no longer log in, and every session of theirs ends now."""
    from .auth import disable_user
    from .services import audit

    session = _session()
    user = _existing_user(session, email)
    disable_user(user)
    audit.record("user_disabled", user_id=None, target=f"user:{user.id}",
                 detail="command line", session=session, commit=False)
    session.commit()
    click.echo(f"Disabled {user.email}; their sessions have ended.")


@users_group.command("reset-mfa")
@click.option("--email", required=True)
@with_appcontext
def users_reset_mfa(email) -> None:
    """Remove a user's second factor (a lost phone); they set up a new one at the next login."""
    from .auth import reset_mfa
    from .services import audit

    session = _session()
    user = _existing_user(session, email)
    reset_mfa(session, user)
    audit.record("mfa_reset", user_id=None, target=f"user:{user.id}", detail="command line",
                 session=session, commit=False)
    session.commit()
    click.echo(f"Removed the second factor of {user.email}; their sessions have ended.")


@cli.group("gdpr")
def gdpr_group() -> None:
    """A person's data: export it (right of access) or erase it (right to erasure)."""


@gdpr_group.command("export")
@click.option("--email", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@with_appcontext
def gdpr_export(email, output) -> None:
    """Everything stored about the person with this email address, as JSON."""
    import json

    from .services import audit
    from .services.gdpr import GdprError, export_person

    session = _session()
    try:
        data = export_person(session, email)
    except GdprError as exc:
        fail(str(exc))
    audit.record("gdpr_export", user_id=None,
                 target=f"user:{data['account']['id']}" if data["account"] else None,
                 detail="command line", session=session)
    if not data["found"]:
        click.echo(f"Nothing is stored about {email.strip()}.", err=True)
    _write_output(json.dumps(data, ensure_ascii=False, indent=2), output)


@gdpr_group.command("erase")
@click.option("--email", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def gdpr_erase(email, yes) -> None:
    """Erase a person: account, addresses on invitations, drafts; answers stay anonymous."""
    from .services import audit
    from .services.gdpr import GdprError, erase_person

    if not yes:
        click.confirm(f"Erase every personal data of {email.strip()}? This cannot be undone",
                      abort=True)
    session = _session()
    try:
        summary = erase_person(session, email)
    except GdprError as exc:
        session.rollback()
        fail(str(exc))
    audit.record("gdpr_erase", user_id=None,
                 target=f"user:{summary.user_id}" if summary.user_id else None,
                 detail="command line", session=session, commit=False)
    session.commit()
    click.echo(summary.format())


@cli.command("purge")
@click.option("--today", type=ISO_DATE, help="Run as if it were this day (default: today).")
@with_appcontext
def purge_command(today) -> None:
    """Delete what the retention rules say is no longer needed (safe to run daily).

    Expired password-reset links, and the contact lists (invitation emails, links) and
    drafts of rounds closed more than RETENTION_DAYS (default 180) days ago.
    """
    from datetime import date

    from .services import audit
    from .services.gdpr import DEFAULT_RETENTION_DAYS, GdprError, purge

    days = int(current_app.config.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    session = _session()
    try:
        summary = purge(session, _date(today) or date.today(), days)
    except GdprError as exc:
        session.rollback()
        fail(str(exc))
    audit.record("purge", user_id=None, detail=(
        f"resets={summary.password_resets} invitations={summary.invitations} "
        f"drafts={summary.drafts} retention_days={days}"), session=session, commit=False)
    session.commit()
    click.echo(summary.format())


PROJECT_COMMANDS = [
    db_group,
    questionnaires_group,
    users_group,
    demo_data_command,
    report_command,
    national_command,
    import_responses_command,
    periods_group,
    rounds_group,
    invitations_group,
    gdpr_group,
    purge_command,
]


@cli.command("instrument")
@click.option("--period", "period_label", required=True)
@click.option("--questionnaire", "questionnaire_slug", required=True)
@click.option("--version", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@with_appcontext
def instrument_command(period_label, questionnaire_slug, version, fmt, output) -> None:
    """Instrument quality of one period: Cronbach's alpha, item-total r, distributions."""
    import json

    from .questionnaire import QuestionnaireError
    from .services.exports import instrument_csv
    from .services.national import instrument_report
    from .services.reports import ReportError

    session = _session()
    try:
        report = instrument_report(session, period_label, questionnaire_slug, version,
                                   _config_min_respondents())
    except (ReportError, QuestionnaireError) as exc:
        fail(str(exc))
    session.commit()  # keeps the computed report until a response of the period changes
    if fmt == "json":
        _write_output(json.dumps(report, ensure_ascii=False, indent=2), output)
    else:
        _write_output(instrument_csv(report), output)


PROJECT_COMMANDS.append(instrument_command)
