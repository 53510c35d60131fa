from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from ..render_slots import NoFreeSlot

#: A PDF renders in about a second, so a slot is free again within a few.
BUSY_RETRY_SECONDS = 5

#: Served when the database cannot be reached or cannot write (a restart, a full disk).
#: Plain HTML on purpose: the usual templates look up the logged-in user in the database.
UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>
<body><h1>Service unavailable</h1>
<p>The service cannot reach its database just now. Nothing you sent has been saved;
please try again in a minute.</p>
<p lang="sv">Tjänsten når inte sin databas just nu. Inget av det du skickade har sparats;
försök igen om en minut.</p>
<p lang="fi">Palvelu ei juuri nyt saa yhteyttä tietokantaansa. Mitään lähettämääsi ei
tallennettu; yritä uudelleen hetken kuluttua.</p>
</body></html>
"""


def register(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        return render_template("errors/400.html", csrf=True), 400

    @app.errorhandler(400)
    def bad_request(_error):
        return render_template("errors/400.html"), 400

    @app.errorhandler(413)
    def too_large(_error):
        # A body within MAX_CONTENT_LENGTH was refused for a text field over
        # MAX_FORM_MEMORY_SIZE (a pasted list); anything larger is a file too large.
        from flask import request

        limit = app.config.get("MAX_CONTENT_LENGTH")
        length = request.content_length
        return render_template(
            "errors/413.html",
            text_too_long=length is not None and (limit is None or length <= limit),
            text_kb=int(app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000) // 1000,
        ), 413

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        # The request's transaction is lost: the session is closed on teardown, and a
        # connection the database dropped is invalidated by SQLAlchemy, not reused.
        app.logger.warning("database unavailable: %s", str(error).split("\n")[0])
        return Response(UNAVAILABLE_PAGE, status=503, mimetype="text/html",
                        headers={"Retry-After": "30", "Cache-Control": "no-store"})

    @app.errorhandler(NoFreeSlot)
    def renderers_busy(_error):
        # Every render slot of this host is taken: the worker answers at once instead of
        # waiting, so that the answering pages keep their workers.
        response = Response(render_template("errors/busy.html"), status=503,
                            mimetype="text/html")
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(500)
    def server_error(_error):
        return render_template("errors/500.html"), 500
