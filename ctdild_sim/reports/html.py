"""A self-contained HTML report of a scenario comparison (plotly.js inlined once).

Figures are built by pure functions of the comparison tables, so the dashboard can reuse them.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ctdild_sim.reports.columns import present


def report_html(title: str, figures: list[go.Figure], tables: list[tuple[str, pd.DataFrame]],
                notes: list[str] = ()) -> str:  # fmt: skip
    """A self-contained HTML page: plotly.js inlined in the first figure, tables as HTML."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1>"]  # fmt: skip
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    for i, fig in enumerate(figures):
        parts.append(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False))
    for heading, frame in tables:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(present(frame).to_html(index=False, border=0))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(path: Path, title: str, figures: list[go.Figure], tables: list[tuple[str, pd.DataFrame]]) -> None:
    """Write the report atomically (see ``report_html``)."""
    text = report_html(title, figures, tables)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
