"""Keep secret tokens out of every log line.

Personal survey links (`/s/<token>`) and password-reset links
(`/password/reset/<token>`) carry a secret in the path; other links may carry one in
a `token=` query value. Access logs (Werkzeug's development server, gunicorn's
`gunicorn.access`) and error logs ("Exception on /s/... [GET]") would write them to
disk, where anyone who can read the logs could answer as the member or take over an
account. `install(app)` puts `TokenFilter` on those loggers and on every handler of
the app's logger and of the root logger, so a record is masked whichever way it
travels.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

MASK = "[token]"
#: A path segment that is itself a secret, and everything up to the next space,
#: quote or query: /s/<token>, /password/reset/<token>. A mail logged in
#: quoted-printable may fold a long link with a soft line break ("=" and a newline).
_SECRET_PATH = re.compile(r"(/s/|/password/reset/)(?:=\r?\n|[^\s\"'?#<>])+")
#: token=<value> in a query string or form-encoded text.
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s])(?:token|reset_token)=)[^&\s\"'#<>]*", re.IGNORECASE)

#: Loggers that write request paths or links: development server, gunicorn access and
#: error logs, and our own (the console mail backend logs whole mails).
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "assess.mail",
                   "assess.security")


def mask_tokens(text: str) -> str:
    """The text with every secret in a path or query replaced by `[token]`."""
    if "/s/" not in text and "/password/reset/" not in text and "token=" not in text.lower():
        return text
    text = _SECRET_PATH.sub(lambda m: m.group(1) + MASK, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def loggable(text: str) -> str:
    """Client-supplied text fit for one log line: tokens masked, control characters escaped.

    Without the escaping a path such as `/s/x%0aFAKE ENTRY` would start a forged line.
    """
    return mask_tokens(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


class TokenFilter(logging.Filter):
    """Rewrites a record's message with its tokens masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's problem
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


_FILTER = TokenFilter()


def _add(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(existing, TokenFilter) for existing in target.filters):
        target.addFilter(_FILTER)


def install(app: Flask) -> None:
    """Mask tokens in the request loggers and in every handler the app's records reach."""
    for name in REQUEST_LOGGERS:
        _add(logging.getLogger(name))
    # A logger's own filters see only records logged on it; a handler's see every record
    # that reaches it, also those propagated from child loggers such as assess.mail.
    _add(app.logger)
    for logger in (app.logger, logging.getLogger("werkzeug"), logging.getLogger()):
        for handler in logger.handlers:
            _add(handler)
