"""A report (``pack.Pack``) as one self-contained HTML page: plotly.js inlined once, every table
as people read it (``columns.present``), styled to read on a screen and to print (the PDF is this
page printed by Chromium)."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import plotly.io as pio

from ctdild_sim.reports.pack import Pack
from ctdild_sim.views.columns import present

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; margin-bottom: 2px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
h3 { font-size: 14px; margin: 18px 0 6px; } p.subtitle { color: #666; margin-top: 0; }
p.note { margin: 4px 0; } p.warning { color: #b00; }
table { border-collapse: collapse; font-size: 12px; margin-bottom: 8px; }
th { text-align: left; background: #eef1f6; }
th, td { border: 1px solid #d5d9e0; padding: 3px 6px; vertical-align: top; }
.figure { page-break-inside: avoid; break-inside: avoid; margin: 8px 0; }
tr { page-break-inside: avoid; break-inside: avoid; } h2, h3 { page-break-after: avoid; break-after: avoid; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-before: auto; } }
"""


def pack_html(pack: Pack, *, for_print: bool = False) -> str:
    """The page; ``for_print`` draws the figures at a fixed size without their toolbars."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(pack.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(pack.title)}</h1>",
        f"<p class='subtitle'>{html.escape(pack.subtitle)}</p>",
    ]
    first = True
    for section in pack.sections:
        if section.heading:
            parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        for note in section.notes:
            kind = "note warning" if note.startswith("Warning") else "note"
            parts.append(f"<p class='{kind}'>{html.escape(note)}</p>")
        for fig in section.figures:
            if for_print:
                fig = go.Figure(fig)  # a copy: the pack's figure is left as it is
                fig.update_layout(width=1000, height=fig.layout.height or 450)
            config = {"displayModeBar": False, "staticPlot": True} if for_print else {"displaylogo": False}
            body = pio.to_html(fig, include_plotlyjs=first, full_html=False, config=config)
            parts.append(f"<div class='figure'>{body}</div>")
            first = False
        for heading, frame in section.tables:
            parts.append(f"<h3>{html.escape(heading)}</h3>")
            if heading in section.captions:
                parts.append(f"<p class='caption'>{html.escape(section.captions[heading])}</p>")
            parts.append(present(frame).to_html(index=False, border=0, escape=True))
    parts.append("</body></html>")
    return "\n".join(parts)
