"""WSGI entry point: `gunicorn wsgi:app`."""

import importlib

from assess import create_app

app = create_app()

# The app imports pandas, scipy, matplotlib and WeasyPrint only when a page needs them,
# so that `assess --help` starts fast. A server wants the opposite: gunicorn loads this
# file once in its master (preload_app), and what is imported here is shared by every
# forked worker, instead of being loaded again, unshared, by each worker's first report.
for module in ("assess.scoring.rounds", "assess.scoring.comparisons", "assess.reports.charts",
               "assess.reports.national_charts", "weasyprint"):
    importlib.import_module(module)
