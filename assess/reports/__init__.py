"""Rendering of reports: charts (matplotlib SVG/PNG) and PDFs (WeasyPrint)."""
