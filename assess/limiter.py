"""Rate limits (Flask-Limiter): slow down anyone guessing survey links.

Storage comes from `RATELIMIT_STORAGE_URI`: "memory://" by default (one process),
redis:// in production so that every worker counts together. Limits are keyed on
the client's address; `X-Forwarded-For` is believed only when `TRUST_PROXY` says how
many proxies of our own stand in front of the app, since anyone can send the header.

One `Limiter` serves the whole process, as Flask-Limiter's decorators need: each
`init_app` gives it that app's settings and a fresh storage. A process runs one app
(tests make one at a time), so that is enough; never serve two apps from one process.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many

#: Default limit on opening survey links, per client address.
SURVEY_LINK_LIMIT = "30 per minute"


def client_address() -> str:
    """The rate-limit key: the peer's address, or the proxy-reported one behind our proxies.

    With `TRUST_PROXY = n`, the n-th address from the right of X-Forwarded-For is the
    one our outermost proxy saw; anything further left was written by the client.
    """
    hops = current_app.config.get("TRUST_PROXY") or 0
    if hops is True:
        hops = 1
    try:
        hops = int(hops)
    except (TypeError, ValueError):
        hops = 0
    if hops > 0:
        forwarded = [
            part.strip()
            for header in request.headers.getlist("X-Forwarded-For")
            for part in header.split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address)


def spend_attempt(limit: str, scope: str, key: str) -> bool:
    """Count one attempt against every part of `limit` ("5 per minute;20 per hour");
    False when any part is used up.

    Counted before the attempt is checked, unlike Flask-Limiter's `deduct_when`, which
    counts after the response: concurrent guesses would all pass the check while the
    first ones were still being verified.
    """
    if not limiter.enabled:
        return True
    names = _counter_names(scope, key)
    # Shortest window first, stopping at the first refusal: a refused attempt must not
    # also use up the longer windows (20 refused posts in a minute would otherwise
    # throttle the account for an hour after only 5 checked passwords).
    for item in sorted(parse_many(limit), key=lambda item: item.get_expiry()):
        if not limiter.limiter.hit(item, *names):
            return False
    return True


def forgive_attempts(limit: str, scope: str, key: str) -> None:
    """Forget the attempts counted for `key`: after a success, only failures count."""
    if limiter.enabled:
        for item in parse_many(limit):
            limiter.limiter.clear(item, *_counter_names(scope, key))


def _counter_names(scope: str, key: str) -> list[str]:
    # The same key prefix as Flask-Limiter's own counters, so apps sharing a Redis stay apart.
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return [prefix, scope, key] if prefix else [scope, key]


def survey_link_limit() -> str:
    return current_app.config["SURVEY_LINK_RATE_LIMIT"]


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # Set explicitly: the shared Limiter would otherwise keep the previous app's choice.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("SURVEY_LINK_RATE_LIMIT", SURVEY_LINK_LIMIT)
    app.config.setdefault("TRUST_PROXY", 0)
    limiter.init_app(app)
