"""The `assess` command: schema, questionnaires and users, with clear errors."""

import shutil
from pathlib import Path

import yaml
from sqlalchemy import inspect, select, text

from assess import migrate
from assess.db import make_engine
from assess.models import QuestionnaireVersion, RoleAssignment, User

ROOT = Path(__file__).parents[2]
FLAGSHIP = ROOT / "questionnaires" / "network-maturity.v1.yaml"


def test_db_upgrade_builds_the_schema_on_an_empty_database(app, runner):
    engine = app.extensions["assess.engine"]
    migrate.downgrade(engine, "base")
    assert "networks" not in inspect(engine).get_table_names()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = set(inspect(engine).get_table_names())
    assert {"regions", "networks", "organizations", "users", "role_assignments",
            "questionnaires", "periods", "rounds", "invitations", "responses", "answers",
            "response_scores", "round_summaries"} <= tables
    assert "Loaded questionnaire network-maturity v1" in result.output


def test_db_upgrade_twice_changes_nothing(app, runner):
    runner.invoke(args=["db", "upgrade"])
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0
    assert "Loaded questionnaire" not in result.output


def test_questionnaires_loaded_by_db_upgrade_are_audited_once(app, runner):
    engine = app.extensions["assess.engine"]
    migrate.downgrade(engine, "base")
    runner.invoke(args=["db", "upgrade"])
    runner.invoke(args=["db", "upgrade"])
    with engine.connect() as connection:
        events = connection.execute(text(
            "SELECT action, detail, user_id FROM audit_events ORDER BY id")).all()
    [(action, detail, user_id)] = events
    assert (action, user_id) == ("questionnaire_loaded", None)
    assert detail.startswith("db upgrade: ") and "network-maturity v1" in detail


def test_validate_accepts_the_flagship(runner):
    result = runner.invoke(args=["questionnaires", "validate", str(FLAGSHIP)])
    assert result.exit_code == 0
    assert "valid (network-maturity v1, 7 dimensions" in result.output


def test_validate_lists_problems_of_a_broken_copy_by_path(runner, tmp_path):
    data = yaml.safe_load(FLAGSHIP.read_text(encoding="utf-8"))
    del data["dimensions"][2]["items"][0]["text"]["fi"]
    data["dimensions"][1]["items"][3]["weight"] = -1
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "validate", str(broken)])
    assert result.exit_code == 1
    assert "dimensions[1].items[3].weight" in result.output
    assert "Traceback" not in result.output


def test_load_is_idempotent_and_refuses_changed_content(db, runner, tmp_path):
    first = runner.invoke(args=["questionnaires", "load", str(FLAGSHIP)])
    again = runner.invoke(args=["questionnaires", "load", str(FLAGSHIP)])
    assert first.exit_code == 0 and "loaded" in first.output
    assert again.exit_code == 0 and "unchanged" in again.output
    data = yaml.safe_load(FLAGSHIP.read_text(encoding="utf-8"))
    data["title"]["en"] = "A different title"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    refused = runner.invoke(args=["questionnaires", "load", str(changed)])
    assert refused.exit_code != 0
    assert "already loaded with different content" in refused.output
    rows = db.scalars(select(QuestionnaireVersion)).all()
    assert len(rows) == 1


def test_load_of_several_files_is_all_or_nothing(db, runner, tmp_path):
    data = yaml.safe_load(FLAGSHIP.read_text(encoding="utf-8"))
    data["version"] = 2
    good = tmp_path / "network-maturity.v2.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "load", str(good), str(bad)])
    assert result.exit_code != 0
    assert db.scalars(select(QuestionnaireVersion)).all() == []


def test_users_create_makes_a_user_who_can_log_in(app, runner, auth):
    result = runner.invoke(
        args=["users", "create", "--email", "Admin@Example.org", "--role", "admin",
              "--password-stdin"],
        input="a long admin password\n",
    )
    assert result.exit_code == 0, result.output
    response = auth.login("admin@example.org", "a long admin password")
    assert response.status_code == 302


def test_users_create_refuses_unknown_role_and_leaves_nothing(db, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "x@example.org", "--role", "boss", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code != 0
    assert "Unknown role 'boss'" in result.output
    assert db.scalar(select(User).where(User.email == "x@example.org")) is None


def test_users_create_needs_the_scope_of_the_role(db, runner, make_network):
    network = make_network("Elderly care network")
    db.commit()
    missing = runner.invoke(
        args=["users", "create", "--email", "l@example.org", "--role", "leader",
              "--password-stdin"],
        input="a long enough password\n",
    )
    assert missing.exit_code != 0 and "needs a network" in missing.output
    ok = runner.invoke(
        args=["users", "create", "--email", "l@example.org", "--role", "leader", "--network",
              network.name, "--password-stdin"],
        input="a long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    assert db.scalar(select(RoleAssignment.network_id)) == network.id


def test_short_passwords_are_refused(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "s@example.org", "--role", "admin",
              "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output


def test_a_database_url_without_its_driver_gets_one_sentence(tmp_path, monkeypatch):
    import subprocess
    import sys

    env = {"DATABASE_URL": "mysql://user@localhost/db", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    assess = shutil.which("assess") or str(Path(sys.executable).parent / "assess")
    result = subprocess.run([assess, "questionnaires", "list"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: DATABASE_URL needs the Python package 'MySQLdb', which is not installed."
    )


def test_sqlite_runs_in_wal_mode(app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        return
    engine = make_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


#: What `assess --help` must not import: each costs up to seconds of start-up.
HEAVY_MODULES = ("pandas", "scipy", "matplotlib", "weasyprint")

LIST_COMMANDS = """
import json, sys
from assess.cli import main  # what the `assess` script runs
sys.argv = ["assess", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + json.dumps(heavy), file=sys.stderr)
"""


def _help_in_a_fresh_process(tmp_path, *args: str):
    import json
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", LIST_COMMANDS.format(heavy=HEAVY_MODULES),
                             *args], env=env, capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    heavy = json.loads(result.stderr.rsplit("HEAVY=", 1)[1])
    return result, heavy


def test_help_lists_every_command_without_importing_heavy_libraries(tmp_path):
    """`assess --help` must start fast: listing commands builds no app, so no blueprint
    pulls in pandas, scipy, matplotlib or WeasyPrint (issue 8: <= 0.5 s)."""
    result, heavy = _help_in_a_fresh_process(tmp_path, "--help")
    assert heavy == []
    for command in ("db", "demo-data", "import-responses", "national", "periods", "purge",
                    "questionnaires", "report", "rounds", "users", "invitations"):
        assert f"\n  {command} " in result.stdout, command


def test_help_of_one_command_imports_no_heavy_library_either(tmp_path):
    result, heavy = _help_in_a_fresh_process(tmp_path, "report", "--help")
    assert heavy == []
    assert "--network" in result.stdout


def test_the_app_still_adds_no_command_help_would_miss(app):
    """--help lists the group's own commands; the app must not add others."""
    from assess.cli import cli

    assert set(app.cli.commands) <= set(cli.commands)
