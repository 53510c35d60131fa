"""PDFs with WeasyPrint, through a URL fetcher that reads nothing from outside.

A report's HTML carries user-supplied text (network and organisation names, open
answers). The fetcher refuses every URL scheme but two of our own, so neither a
remote address (SSRF) nor a `file:` path can be read through the renderer.
"""

from __future__ import annotations

from pathlib import Path

from .. import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
#: Fonts with å, ä, ö and the Sami letters, shipped inside matplotlib (a dependency).
FONT_FILES = {
    "DejaVuSans.ttf": "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf": "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf": "DejaVuSans-Oblique.ttf",
}

FONT_FACES = """
@font-face { font-family: "Report Sans"; src: url("assess-font:DejaVuSans.ttf"); }
@font-face { font-family: "Report Sans"; font-weight: bold;
             src: url("assess-font:DejaVuSans-Bold.ttf"); }
@font-face { font-family: "Report Sans"; font-style: italic;
             src: url("assess-font:DejaVuSans-Oblique.ttf"); }
"""


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _make_fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """Serves our fonts and static files; refuses every other URL."""

        def fetch(self, url, headers=None):
            if url.startswith("assess-font:"):
                name = url.removeprefix("assess-font:")
                if name in FONT_FILES:
                    path = _font_dir() / FONT_FILES[name]
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/ttf"})
            if url.startswith("assess-static:"):
                relative = url.removeprefix("assess-static:")
                path = (STATIC_DIR / relative).resolve()
                if path.is_file() and STATIC_DIR.resolve() in path.parents:
                    return URLFetcherResponse(url, path.read_bytes())
            raise ValueError(f"refused to fetch {url[:80]!r}: reports load nothing from outside")

    return SafeFetcher(allowed_protocols=())


def render_pdf(html: str, stylesheets: tuple[str, ...] = ()) -> bytes:
    """Render HTML (with its CSS) to PDF bytes; no resource outside the app is read."""
    from weasyprint import CSS, HTML

    fetcher = _make_fetcher()
    sheets = [CSS(string=FONT_FACES, url_fetcher=fetcher)]
    sheets += [CSS(string=css, url_fetcher=fetcher) for css in stylesheets]
    document = HTML(string=html, base_url="assess-static:", url_fetcher=fetcher)
    return document.write_pdf(stylesheets=sheets)
