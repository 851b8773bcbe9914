"""Store a report as two artifacts: the JSON document and the HTML page."""

from __future__ import annotations

from typing import Protocol, TypeVar

from leakrange.artifacts.media_types import MEDIA_HTML, MEDIA_JSON
from leakrange.report.html import render_html
from leakrange.report.schema import Report

RefT_co = TypeVar("RefT_co", covariant=True)


class ByteStore(Protocol[RefT_co]):
    """The part of the artifact store a report needs."""

    def put_bytes(self, data: bytes, media_type: str) -> RefT_co: ...


def report_json(report: Report) -> bytes:
    """The report's JSON document (UTF-8)."""
    return report.model_dump_json(indent=2).encode("utf-8")


def write_report(report: Report, store: ByteStore[RefT_co]) -> tuple[RefT_co, RefT_co]:
    """Store the JSON and the HTML rendering; returns (json_ref, html_ref)."""
    json_ref = store.put_bytes(report_json(report), MEDIA_JSON)
    html_ref = store.put_bytes(render_html(report).encode("utf-8"), MEDIA_HTML)
    return json_ref, html_ref
