"""PDFs with WeasyPrint, through a URL fetcher that reads nothing from outside.

A report's HTML carries user-supplied text (network and organisation names, open
answers). The fetcher refuses every URL scheme but three of our own, so neither a
remote address (SSRF) nor a `file:` path can be read through the renderer:

* ``assess-font:NAME``: the report fonts (DejaVu Sans, shipped inside matplotlib);
* ``assess-static:PATH``: a file under ``static/``;
* ``assess-image:NAME``: an image the caller passed to :func:`render_pdf` (the charts).

Speed (benchmarks/report_pdf.py): the fonts and the parsed stylesheets are made once per
process and reused by every rendering, and WeasyPrint runs in a thread of its own with
a raised nice value (Linux schedules threads separately), so the answering pages served
by the other workers win the CPU while a PDF renders.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import threading
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from .. import PROJECT_ROOT
from ..render_slots import render_slot, slot_wait

STATIC_DIR = PROJECT_ROOT / "static"
#: Fonts with å, ä, ö and the Sami letters, shipped inside matplotlib (a dependency).
FONT_FILES = {
    "DejaVuSans.ttf": "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf": "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf": "DejaVuSans-Oblique.ttf",
}
IMAGE_SCHEME = "assess-image:"
#: Niceness of the rendering thread: the scheduler gives a nice-0 request about ten times
#: the CPU of a nice-10 rendering when both want it (CFS weights 1024 vs 110).
RENDER_NICENESS = 10

FONT_FACES = """
@font-face { font-family: "Report Sans"; src: url("assess-font:DejaVuSans.ttf"); }
@font-face { font-family: "Report Sans"; font-weight: bold;
             src: url("assess-font:DejaVuSans-Bold.ttf"); }
@font-face { font-family: "Report Sans"; font-style: italic;
             src: url("assess-font:DejaVuSans-Oblique.ttf"); }
"""

T = TypeVar("T")
#: One rendering at a time per process: the shared font configuration is not thread-safe.
_RENDER_LOCK = threading.RLock()
#: The images of the rendering in progress (served as assess-image:NAME).
_IMAGES: dict[str, tuple[bytes, str]] = {}
_LOW_PRIORITY = threading.local()


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=len(FONT_FILES))
def _font_bytes(name: str) -> bytes:
    return (_font_dir() / FONT_FILES[name]).read_bytes()


def _make_fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """Serves our fonts, static files and the caller's images; refuses every other URL."""

        def fetch(self, url, headers=None):
            if url.startswith("assess-font:"):
                name = url.removeprefix("assess-font:")
                if name in FONT_FILES:
                    return URLFetcherResponse(url, _font_bytes(name),
                                              {"Content-Type": "font/ttf"})
            if url.startswith(IMAGE_SCHEME):
                image = _IMAGES.get(url.removeprefix(IMAGE_SCHEME))
                if image is not None:
                    return URLFetcherResponse(url, image[0], {"Content-Type": image[1]})
            if url.startswith("assess-static:"):
                relative = url.removeprefix("assess-static:")
                path = (STATIC_DIR / relative).resolve()
                if path.is_file() and STATIC_DIR.resolve() in path.parents:
                    return URLFetcherResponse(url, path.read_bytes())
            raise ValueError(f"refused to fetch {url[:80]!r}: reports load nothing from outside")

    return SafeFetcher(allowed_protocols=())


@lru_cache(maxsize=1)
def _setup():
    """The fetcher, the font configuration with our @font-face fonts loaded, made once."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _make_fetcher()
    font_config = FontConfiguration()
    fonts = CSS(string=FONT_FACES, url_fetcher=fetcher, font_config=font_config)
    # Freed before the interpreter tears its modules down, which its __del__ needs.
    atexit.register(_stylesheet.cache_clear)
    atexit.register(_setup.cache_clear)
    return fetcher, font_config, fonts


@lru_cache(maxsize=16)
def _stylesheet(css: str):
    """A stylesheet parsed once: the same print CSS serves every rendering."""
    from weasyprint import CSS

    fetcher, font_config, _fonts = _setup()
    return CSS(string=css, url_fetcher=fetcher, font_config=font_config)


def run_at_low_priority(function: Callable[[], T]) -> T:
    """Call `function` in a thread with a raised nice value and wait for its result.

    CPU-heavy work (a PDF) then yields the CPU to the requests of the other workers.
    The caller's context variables (Flask's app and request context, the locale) go
    along. Where threads cannot be niced (not Linux), it simply runs at normal priority.
    Nested calls run inline. It first takes one of the host's render slots
    (`PDF_RENDER_SLOTS`, assess.render_slots): in a request, NoFreeSlot is raised at once
    when all are taken, so that some workers always stay free for the other pages.
    """
    if getattr(_LOW_PRIORITY, "active", False):
        return function()
    slots, directory, wait = _slot_policy()
    with render_slot(slots, directory, wait=wait):
        return _run_in_low_priority_thread(function)


def _slot_policy() -> tuple[int, Path, float]:
    """(render slots of the host, their directory, seconds to wait for one). A web
    request does not wait (it answers 503 at once, keeping its worker free); commands
    wait their turn (render_slots.waiting_for_slots). No app: no limit."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return 0, Path(), 0.0
    config = current_app.config
    slots = int(config.get("PDF_RENDER_SLOTS") or 0)
    directory = Path(config.get("PDF_RENDER_SLOT_DIR")
                     or Path(current_app.instance_path) / "render-slots")
    return slots, directory, slot_wait()


def _run_in_low_priority_thread(function: Callable[[], T]) -> T:
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}

    def run() -> None:
        _LOW_PRIORITY.active = True
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RENDER_NICENESS)
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            pass
        try:
            outcome["value"] = context.run(function)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="assess-pdf", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def render_pdf(html: str, stylesheets: tuple[str, ...] = (),
               images: Mapping[str, tuple[bytes, str]] | None = None) -> bytes:
    """Render HTML (with its CSS) to PDF bytes; no resource outside the app is read.

    `images` maps a name to (bytes, content type), shown by ``<img src="assess-image:NAME">``.
    """
    from weasyprint import HTML

    def render() -> bytes:
        with _RENDER_LOCK:
            fetcher, font_config, fonts = _setup()
            sheets = [fonts] + [_stylesheet(css) for css in stylesheets]
            _IMAGES.clear()
            _IMAGES.update(images or {})
            try:
                document = HTML(string=html, base_url="assess-static:", url_fetcher=fetcher)
                return document.write_pdf(stylesheets=sheets, font_config=font_config)
            finally:
                _IMAGES.clear()

    return run_at_low_priority(render)
