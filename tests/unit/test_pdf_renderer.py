"""The PDF renderer's own machinery: the low-priority thread and the image URLs."""

from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest

from assess.reports import pdf

LEVEL = contextvars.ContextVar("LEVEL", default="unset")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_work_runs_in_a_thread_with_a_raised_nice_value_and_the_caller_keeps_its_own():
    before = _niceness()
    inside = pdf.run_at_low_priority(_niceness)
    assert inside == min(19, before + pdf.RENDER_NICENESS)
    assert _niceness() == before


def test_the_callers_context_goes_along_and_errors_come_back():
    token = LEVEL.set("from the caller")
    try:
        assert pdf.run_at_low_priority(LEVEL.get) == "from the caller"
    finally:
        LEVEL.reset(token)

    def fail():
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        pdf.run_at_low_priority(fail)


def test_nested_calls_run_inline():
    assert pdf.run_at_low_priority(
        lambda: pdf.run_at_low_priority(threading.get_native_id)
        == threading.get_native_id())


def test_images_are_served_only_to_the_rendering_they_were_given_to():
    from io import BytesIO

    from PIL import Image
    from pypdf import PdfReader

    buffer = BytesIO()
    Image.new("RGB", (40, 20), "#0b4f8a").save(buffer, format="PNG")
    html = '<p>Chart</p><img src="assess-image:chart.png" style="width: 40mm">'
    with_image = pdf.render_pdf(html, images={"chart.png": (buffer.getvalue(), "image/png")})
    assert len(PdfReader(BytesIO(with_image)).pages[0].images) == 1
    without = pdf.render_pdf(html)  # the name means nothing to another rendering
    assert len(PdfReader(BytesIO(without)).pages[0].images) == 0
