"""The verification report: one dict gathered from the claim store (= the JSON report), rendered as
self-contained HTML (inline CSS + inline SVG figures) or Markdown, and checked in headless Chromium."""

from .data import RELIABILITY_FORMULA, REPORT_SCHEMA, build_report, stream_report
from .render import FORMATS, format_for_path, render, render_chunks, render_html, render_json, render_markdown, write_chunks, write_report

__all__ = ["FORMATS", "format_for_path", "RELIABILITY_FORMULA", "REPORT_SCHEMA", "build_report", "render", "render_chunks", "render_html",
           "render_json", "render_markdown", "stream_report", "write_chunks", "write_report"]
