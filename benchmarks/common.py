"""Helpers of the benchmarks: databases, gunicorn servers, load generation, timing.

Everything here is bounded in time: servers are started with a deadline and always
stopped (by their own process id), load runs for a fixed number of seconds.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WRK = shutil.which("wrk")


# -- timing ------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Repeated measurements of one figure, in seconds."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


def time_repeated(function, repeat: int = 7, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        function()
    timing = Timing()
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timing.values.append(time.perf_counter() - start)
    return timing


# -- the machine -------------------------------------------------------------------------------


def machine_info(pg_url: str | None) -> dict:
    info = {
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "wrk": _wrk_version(),
        "postgresql": None,
        "sqlite": None,
    }
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    if pg_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(pg_url)
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    try:
        model = next(line.split(":", 1)[1].strip()
                     for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        info["cpu"] = model
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    return info


def _wrk_version() -> str | None:
    if not WRK:
        return None
    out = subprocess.run([WRK, "--version"], capture_output=True, text=True, timeout=10)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


# -- databases ---------------------------------------------------------------------------------


def pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def pg_url(name: str) -> str:
    from sqlalchemy import make_url

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_pg_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_app(url: str, **config):
    """The product app on `url`, CSRF off (in-process measurements only)."""
    from assess import create_app

    settings = {"DATABASE_URL": url, "SECRET_KEY": "benchmark-secret", "WTF_CSRF_ENABLED": False,
                "MAIL_BACKEND": "console", "RATELIMIT_ENABLED": False,
                "MFA_REQUIRED": False}
    settings.update(config)
    return create_app(settings)


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []


@contextmanager
def gunicorn(app_spec: str, env: dict, config: Path, log: Path, workers: int,
             startup_timeout: float = 60):
    """A gunicorn master on a free port, stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    full_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": os.devnull,
                "PYTHONPATH": str(ROOT)}
    handle = open(log, "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", str(config), app_spec],
        cwd=ROOT, env=full_env, stdout=handle, stderr=subprocess.STDOUT,
    )
    server = Server(process, port, log)
    try:
        wait_for_port(port, startup_timeout, process)
        deadline = time.monotonic() + startup_timeout
        while len(server.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server
    finally:
        stop_process(process)
        handle.close()


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def rss_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB; PSS shares pages with the other workers fairly."""
    rss = pss = 0.0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, pss


# -- HTTP ----------------------------------------------------------------------------------------


class Browser:
    """One keep-alive connection with a cookie jar: enough to act as one member."""

    def __init__(self, base: str, timeout: float = 60):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        from urllib.parse import urlencode

        body = urlencode(form) if form is not None else None
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port,
                                                             timeout=self.timeout)
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def close(self) -> None:
        self.connection.close()


CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: bytes) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1).decode()


# -- load --------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    generator: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_load(base: str, method: str, path: str, sessions_file: Path | None, connections: int,
             seconds: float, threads: int = 1) -> LoadResult:
    """wrk when installed, else the threaded Python generator below (same for every figure)."""
    if WRK and not os.environ.get("BENCH_PYTHON_LOAD"):
        return _wrk(base, method, path, sessions_file, connections, seconds, threads)
    return _python_load(base, method, path, sessions_file, connections, seconds)


def _wrk(base, method, path, sessions_file, connections, seconds, threads) -> LoadResult:
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "30s",
               "-s", str(BENCH_DIR / "lua" / "sessions.lua"), base, "--",
               str(sessions_file) if sessions_file else "-", method, path]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((li for li in out.stdout.splitlines() if li.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line)
    if not data["requests"]:  # nothing came back in time: the latency is at least the run
        for key in ("p50_us", "p95_us", "p99_us", "max_us"):
            data[key] = data["duration_us"]
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors",
                                   "status_errors", "timeouts"))
    return LoadResult(data["requests"], data["duration_us"] / 1e6, errors, data["p50_us"] / 1e3,
                      data["p95_us"] / 1e3, data["p99_us"] / 1e3, data["max_us"] / 1e3,
                      f"wrk -t{threads} -c{connections}")


def _python_load(base, method, path, sessions_file, connections, seconds) -> LoadResult:
    """Threads, one keep-alive http.client connection each; each request takes the next session."""
    sessions = []
    if sessions_file:
        for line in Path(sessions_file).read_text().splitlines():
            cookie, _, token = line.partition("\t")
            if cookie:
                sessions.append((cookie, token))
    parts = urlsplit(base)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = [0]
    stop_at = time.monotonic() + seconds

    def worker():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.monotonic() < stop_at:
            headers, body = {}, None
            if sessions:
                with lock:
                    counter[0] += 1
                    cookie, token = sessions[counter[0] % len(sessions)]
                headers["Cookie"] = cookie
                if method == "POST":
                    body = f"csrf_token={token}"
            if method == "POST":
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                body = body or ""
            start = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except (http.client.HTTPException, OSError):
                errors[0] += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(seconds + 60)
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e3 \
            if latencies else elapsed * 1e3

    return LoadResult(len(latencies), elapsed, errors[0], pct(50), pct(95), pct(99),
                      (latencies[-1] * 1e3) if latencies else elapsed * 1e3,
                      f"python threads c{connections}")
