"""Briefs for policy makers (PDF) and open exports (CSV, GeoJSON, XLSX, HXL) of stories.

Read from the public and internal projections of stories (`core.open_data`,
`core.projections`), never from table rows in a template. The faces (the CLI, the web
dashboard) call `write_export` and `render_brief` with a selection from `select_stories`.
WeasyPrint and matplotlib are imported only when a brief is rendered.
"""

from reports.brief import BriefRequest, render_brief
from reports.export import ExportFormat, ExportRequest, write_export
from reports.selection import Selection, select_stories

__all__ = [
    "BriefRequest",
    "ExportFormat",
    "ExportRequest",
    "Selection",
    "render_brief",
    "select_stories",
    "write_export",
]
