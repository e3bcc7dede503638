"""Self-contained HTML reports: one file with the command, settings, tables and inlined figures.

Every analysis writes ``report.html`` (PNG figures embedded as base64, no external files, so
it can be mailed or attached to an issue) and ``results.json`` (the same numbers, for
scripts). Both record the exact command that produced them.
"""

from __future__ import annotations

import base64
import html
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vlm_reward.atomic import atomic_write_json, atomic_write_text

__all__ = ["ReportFigure", "ReportTable", "current_command", "write_report"]


def current_command() -> str:
    """The command line of this process, as a user would type it again."""
    argv = list(sys.argv)
    if not argv:
        return "(unknown)"
    head = Path(argv[0]).name
    if head == "__main__.py" and Path(argv[0]).parent.name == "vlm_reward":
        prefix = ["python", "-m", "vlm_reward"]
    elif head in ("vlm-reward", "vlm_reward"):
        prefix = ["vlm-reward"]
    else:
        prefix = ["python", argv[0]] if argv[0].endswith(".py") else [argv[0]]
    return shlex.join([*prefix, *argv[1:]])


@dataclass
class ReportTable:
    """A table for the report: a caption, column names and rows of cells."""

    caption: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass
class ReportFigure:
    """A figure already saved as PNG (inlined) and SVG (linked by name)."""

    png: Path
    caption: str
    svg: Path | None = None


@dataclass
class _Doc:
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
pre{background:#f4f4f4;padding:.8em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;font-size:.92em}th{background:#f0f0f0}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:.6em;margin:1em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#555}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape(str(value))


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return str(obj)


def _clean(obj: Any) -> Any:
    """JSON-ready copy: numpy to lists, NaN/inf to None (strict JSON has no NaN)."""
    import math

    obj = _json_default(obj) if not isinstance(obj, (dict, list, tuple, str, int, float,
                                                      bool, type(None))) else obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_report(
    out_dir: str | Path,
    *,
    title: str,
    command: str | None = None,
    settings: Mapping[str, Any] | None = None,
    tables: Sequence[ReportTable] = (),
    figures: Sequence[ReportFigure] = (),
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
    results: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``report.html`` and ``results.json`` into ``out_dir``; return the HTML path.

    Args:
        out_dir: output folder (created).
        title: report heading.
        command: the command that produced the analysis (default: this process's argv).
        settings: key/value pairs shown as the settings table (model, dataset, prompts...).
        tables: result tables.
        figures: saved figures, embedded as base64 PNG.
        notes: paragraphs of explanation.
        warnings: highlighted caveats (e.g. a model with random weights).
        results: machine-readable results for ``results.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    command = command if command is not None else current_command()
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    doc = _Doc()
    doc.add(f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>")
    doc.add(f"<h1>{html.escape(title)}</h1>")
    doc.add(f"<p>Created {created} by vlm-reward.</p>")
    doc.add("<h2>Command</h2>")
    doc.add(f"<pre class='command'>{html.escape(command)}</pre>")
    for text in warnings:
        doc.add(f"<div class='warn'>{html.escape(text)}</div>")
    if settings:
        doc.add("<h2>Settings</h2><table>")
        for key, value in settings.items():
            doc.add(f"<tr><th>{html.escape(str(key))}</th><td>{_cell(value)}</td></tr>")
        doc.add("</table>")
    for text in notes:
        doc.add(f"<p>{html.escape(text)}</p>")
    for table in tables:
        doc.add(f"<h2>{html.escape(table.caption)}</h2><table><tr>")
        doc.add("".join(f"<th>{html.escape(str(h))}</th>" for h in table.header) + "</tr>")
        for row in table.rows:
            doc.add("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>")
        doc.add("</table>")
    if figures:
        doc.add("<h2>Figures</h2>")
    for fig in figures:
        data = base64.b64encode(Path(fig.png).read_bytes()).decode("ascii")
        svg = f" (vector: <code>{html.escape(Path(fig.svg).name)}</code>)" if fig.svg else ""
        doc.add(f"<figure><img alt='{html.escape(fig.caption)}' "
                f"src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(fig.caption)}{svg}</figcaption></figure>")
    doc.add("</body></html>\n")
    html_path = out / "report.html"
    atomic_write_text(html_path, "\n".join(doc.parts))
    payload = {"title": title, "command": command, "created": created,
               "settings": dict(settings or {}), "results": dict(results or {})}
    atomic_write_json(out / "results.json", _clean(payload))
    return html_path
