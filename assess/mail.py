"""Outgoing mail: invitations and reminders, in the invitee's language.

Two backends, chosen by MAIL_BACKEND: `console` (development: the message is logged
and written as an .eml file into MAIL_OUTBOX) and `smtp`. Links are built from
BASE_URL only, never from a request's Host header, which a client controls.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from pathlib import Path

from flask_babel import force_locale, gettext

from .i18n import format_date
from .labels import period_label

logger = logging.getLogger("assess.mail")

BACKENDS = ("console", "smtp")


class MailError(RuntimeError):
    """The mail settings cannot be used; the message says which one."""


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    #: The language the texts are in; sent as Content-Language.
    language: str


Send = Callable[[OutgoingMail], None]


def personal_link(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + "/s/" + token


def _flag(value) -> bool:
    """A setting from the environment may arrive as a string ('false', '0')."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def build_message(config: Mapping, message: OutgoingMail) -> EmailMessage:
    sender = config.get("MAIL_SENDER") or "assess@localhost"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    # Tells vacation responders and list servers not to answer a machine.
    email["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps the UTF-8 body 7-bit clean for relays without 8BITMIME.
    email.set_content(message.body, charset="utf-8", cte="quoted-printable")
    # After set_content, which replaces every Content-* header.
    email["Content-Language"] = message.language
    return email


def send_mail(config: Mapping, message: OutgoingMail) -> None:
    """Send one message with the configured backend; raises on failure (the caller decides)."""
    backend = config.get("MAIL_BACKEND") or "console"
    if backend not in BACKENDS:
        raise MailError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not '{backend}'.")
    email = build_message(config, message)
    if backend == "console":
        _write_to_console(config, email)
    else:
        _send_smtp(config, email)


def _write_to_console(config: Mapping, email: EmailMessage) -> None:
    logger.info("Mail (console backend, not sent):\n%s", email.as_string())
    outbox = config.get("MAIL_OUTBOX")
    if not outbox:
        return
    folder = Path(outbox)
    # The files hold personal links: readable by the app's user only.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(email.as_bytes())


def _send_smtp(config: Mapping, email: EmailMessage) -> None:
    host = config.get("MAIL_SERVER") or "localhost"
    port = int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or 30)
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        if _flag(config.get("MAIL_USE_TLS")):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email)


def sender_for(app) -> Send:
    """A `send(message)` bound to the app's mail settings; the outbox is in the instance folder."""
    config = dict(app.config)
    config.setdefault("MAIL_OUTBOX", os.path.join(app.instance_path, "outbox"))
    return partial(send_mail, config)


# -- messages ----------------------------------------------------------------------------------
#
# The texts are gettext strings, so they live in the translation catalogs like every
# other text; force_locale picks the invitee's language whatever the reader's is.


@dataclass(frozen=True)
class SurveyFacts:
    """What a mail says about the survey; plain values, so the builders need no database."""

    to: str
    language: str
    network: str
    period: str
    survey: str
    closes_on: date | None
    link: str


def _privacy_paragraph() -> str:
    return gettext(
        "The link is personal: please do not forward it. Your answers are shown to nobody "
        "else; the network sees only results combined from several respondents."
    )


def _closing_sentence(facts: SurveyFacts) -> str:
    if facts.closes_on is None:
        return ""
    return gettext("The survey is open until %(date)s.",
                   date=format_date(facts.closes_on, format="long"))


def _survey_mail(facts: SurveyFacts, subject: str, opening: str, resuming: str) -> OutgoingMail:
    """The shape every survey mail shares: greeting, why, the link, deadline, privacy."""
    paragraphs = [
        gettext("Hello,"),
        opening,
        gettext("Answer through your personal link:") + "\n" + facts.link,
        " ".join(filter(None, [_closing_sentence(facts), resuming])),
        _privacy_paragraph(),
        gettext("This message was sent automatically; please do not reply to it."),
    ]
    return OutgoingMail(facts.to, subject, "\n\n".join(paragraphs) + "\n", facts.language)


def invitation_mail(facts: SurveyFacts) -> OutgoingMail:
    """The first mail of a round, with the member's personal link."""
    with force_locale(facts.language):
        return _survey_mail(
            facts,
            subject=gettext("Survey invitation: %(network)s, %(period)s",
                            network=facts.network, period=period_label(facts.period)),
            opening=gettext(
                'The collaboration network %(network)s asks you to answer the survey '
                '"%(survey)s" for the period %(period)s.',
                network=facts.network, survey=facts.survey, period=period_label(facts.period),
            ),
            resuming=gettext("Your answers are saved as you go, so you can stop and continue "
                             "later through the same link."),
        )


def reminder_mail(facts: SurveyFacts) -> OutgoingMail:
    """One reminder before the round closes, with the same personal link."""
    with force_locale(facts.language):
        if facts.closes_on is not None:
            subject = gettext("Reminder: the survey of %(network)s closes on %(date)s",
                              network=facts.network,
                              date=format_date(facts.closes_on, format="long"))
        else:
            subject = gettext("Reminder: the survey of %(network)s", network=facts.network)
        return _survey_mail(
            facts,
            subject=subject,
            opening=gettext(
                'You have not yet submitted your answers to the survey "%(survey)s" of the '
                "collaboration network %(network)s for the period %(period)s.",
                network=facts.network, survey=facts.survey, period=period_label(facts.period),
            ),
            resuming=gettext("Answers you have saved are kept; you can continue where "
                             "you left off."),
        )
