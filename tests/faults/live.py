"""Real servers for fault and multi-host tests: databases, gunicorn processes, a browser.

Used by tests/faults/ and tests/integration/test_two_instances.py. Every process started
here is stopped by its own id; every database made here is dropped by the test's fixture.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
HOOKS_CONF = Path(__file__).resolve().parent / "gunicorn_hooks.py"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where every service must run."""
    if in_ci():
        pytest.fail(f"{reason} (the CI environment variable is set, so this is a failure)")
    pytest.skip(reason)


# -- services ----------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    """The server the suite uses (TEST_DATABASE_URL), or the local default; skips if none."""
    from sqlalchemy import create_engine, text

    url = os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        unavailable(f"PostgreSQL is not reachable at {url}: {exc.__class__.__name__}")
    return url


def redis_ping(db: int) -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as exc:
        unavailable(f"Redis is not reachable on 127.0.0.1:6379: {exc}")


def redis_key_prefix(name: str) -> str:
    """A rate-limit key prefix (RATELIMIT_KEY_PREFIX) of one test server's own.

    Tests in parallel processes share the Redis database; each server counts under its
    own prefix and forgets only its own keys (redis_forget), never another's. (Keeping
    such tests on one xdist worker with xdist_group does not hold with pytest 9.2, whose
    node ids no longer take xdist's group suffix.)
    """
    return f"{name}-{secrets.token_hex(6)}"


def redis_forget(db: int, prefix: str) -> None:
    """Delete the keys under one server's key prefix, and nothing else."""
    import redis

    store = redis.Redis(host="127.0.0.1", port=6379, db=db)
    try:
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)
    finally:
        store.close()


def redis_flush(db: int) -> None:
    """FLUSHDB of one database number only (the tests' own)."""
    with socket.create_connection(("127.0.0.1", 6379), timeout=5) as sock:
        sock.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 2:
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
    if reply.count(b"+OK") < 2:
        raise RuntimeError(f"FLUSHDB failed: {reply!r}")


class PostgresDatabase:
    """A database of the test's own on the suite's PostgreSQL server."""

    def __init__(self, admin_url: str, name: str):
        from sqlalchemy import create_engine, make_url, text

        self.name = name
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        from sqlalchemy import text

        for _ in range(10):  # right after a restart the server may still be starting
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                break
            except Exception:  # noqa: BLE001
                time.sleep(1)
        self.admin.dispose()


# -- the data: a round with invitations whose pages are answered ---------------------------------


def prepare_round(url: str, secret: str, invitations: int, answered: bool = True,
                  network: str = "Fault test network") -> list[str]:
    """Migrate, load the questionnaires, open a round, invite; returns the link tokens.

    With `answered`, every invitation gets a draft response holding an answer to every
    item, as saving each page stores them, so that the only request left is the member's
    final submit.
    """
    from datetime import date, timedelta

    from sqlalchemy import insert, select

    from assess import create_app, migrate
    from assess.models import Answer, Network, Region
    from assess.services import questionnaires, surveys

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    migrate.upgrade(app.extensions["assess.engine"])
    session = app.extensions["assess.sessionmaker"]()
    today = date.today()
    tokens = []
    try:
        with app.app_context():
            rows = questionnaires.load_directory(session)
            flagship = next(r.row for r in rows if r.row.slug == "network-maturity")
            region = session.scalar(select(Region).where(Region.name == "Fault region"))
            if region is None:
                region = Region(name="Fault region")
            net = Network(name=network, region=region)
            session.add(net)
            session.flush()
            label = f"{today.year}-faults"
            try:
                period = surveys.find_period(session, label)
            except surveys.SurveyError:
                period = surveys.create_period(session, label, today - timedelta(days=5),
                                               today + timedelta(days=60))
            round_ = surveys.open_round(session, net, period, flagship,
                                        closes_on=today + timedelta(days=30), today=today)
            questionnaire = surveys.questionnaire_of(round_)
            answers = []
            for _ in range(invitations):
                invitation, token = surveys.create_invitation(session, secret, round_, None)
                if answered:  # what saving every page stores, in one statement for all
                    response = surveys.start_or_resume(session, invitation)
                    answers += [
                        {"response_id": response.id, "item_id": item.id,
                         "value": 4 if item.is_scored else None, "dont_know": False,
                         "text": None if item.is_scored else "Fine"}
                        for item in questionnaire.items
                    ]
                tokens.append(token)
            if answers:
                session.execute(insert(Answer), answers)
            session.commit()
    finally:
        session.close()
        app.extensions["assess.engine"].dispose()
    return tokens


def count(url: str, sql: str, **params) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


# -- gunicorn ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn wsgi:app` with the product's gunicorn.conf.py (or the hooks file)."""

    def __init__(self, env: dict, tmp_path: Path, workers: int = 2, hooks: bool = False,
                 port: int | None = None, name: str = "gunicorn"):
        self.port = port or free_port()
        #: free_port() gives the number back before gunicorn binds it (after loading the
        #: app, seconds later): another process may take it meanwhile, so start() picks
        #: another one then. A port the caller chose is kept.
        self._port_chosen_here = port is None
        self.log_path = tmp_path / f"{name}-{self.port}.log"
        self.env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                    "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": os.devnull,
                    "PYTHONPATH": str(ROOT)}
        self.env.pop("FLASK_APP", None)
        self.config = HOOKS_CONF if hooks else GUNICORN_CONF
        self.workers = workers
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, port_attempts: int = 3) -> Gunicorn:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        log_start = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(self.config), "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                taken = b"Connection in use" in self.log_path.read_bytes()[log_start:]
                if taken and self._port_chosen_here and port_attempts > 1:
                    self._log.close()
                    self.port = free_port()
                    self.env["GUNICORN_BIND"] = f"127.0.0.1:{self.port}"
                    return self.start(timeout, port_attempts - 1)
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log()}")
            # The master's own "Listening at" line: an answer on the port alone could come
            # from another process, and loading the app runs short-lived children
            # (ldconfig) that worker_pids() counts too.
            listening = f"Listening at: {self.base} ".encode() in self.log_path.read_bytes()[
                log_start:]
            if listening and len(self.worker_pids()) >= self.workers:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start in {timeout} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            return [int(p) for p in
                    Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self, timeout: float = 30) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


# -- a browser -----------------------------------------------------------------------------------


class Browser:
    """One member's browser: a cookie jar and a fresh connection per request."""

    def __init__(self, base: str, timeout: float = 60):
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None,
                base: str | None = None, headers: dict | None = None):
        host, port = self.host, self.port
        if base:
            host, port_text = base.removeprefix("http://").split(":")
            port = int(port_text)
        sent = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def csrf(self, path: str, base: str | None = None) -> str:
        status, html = self.request("GET", path, base=base)
        assert status == 200, (path, status, html[:300])
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1).decode()


def member(base: str, token: str) -> tuple[Browser, str]:
    """A member who opened the link and sits on the review page: (browser, CSRF token)."""
    browser = Browser(base)
    status, _ = browser.request("GET", f"/s/{token}")
    assert status in (302, 303), status
    return browser, browser.csrf("/survey/review")


def submit(browser: Browser, csrf: str, base: str | None = None) -> tuple[int, bytes]:
    return browser.request("POST", "/survey/submit", {"csrf_token": csrf}, base=base)


def server_env(url: str, secret: str, **extra) -> dict:
    env = {"DATABASE_URL": url, "ASSESS_SECRET_KEY": secret, "ASSESS_MFA_REQUIRED": "false",
           "ASSESS_MAIL_BACKEND": "console",
           # Tests open many links from one address: the guessing limit is tested elsewhere.
           "ASSESS_SURVEY_LINK_RATE_LIMIT": "100000 per minute"}
    env.update(extra)
    return env
