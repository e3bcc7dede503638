"""Self-contained HTML report and results.json."""

from __future__ import annotations

import base64
import json
import math
import sys
from pathlib import Path

import numpy as np

from vlm_reward.evaluation.metrics import MetricValue
from vlm_reward.evaluation.plots import plot_state_sweep, save_figure
from vlm_reward.evaluation.report import (
    ReportFigure,
    ReportTable,
    current_command,
    write_report,
)


def test_report_is_self_contained_and_records_the_command(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 5)
    fig = plot_state_sweep(x, {"a": x**2}, variable="theta", success=np.array([0, 1, 1, 0, 0.0]))
    png, svg = save_figure(fig, tmp_path, "fig")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    command = "vlm-reward eval alpha 'my data' --goal '<b>upright</b>'"
    path = write_report(
        tmp_path, title="T", command=command, settings={"model": "m"},
        tables=[ReportTable("tab", ["k", "v"], [["epic", MetricValue(0.5, 0.4, 0.6)]])],
        figures=[ReportFigure(png, "a caption", svg)], warnings=["careful"],
        results={"x": x, "nan": math.nan, "m": MetricValue(0.5)},
    )
    text = path.read_text()
    assert "vlm-reward eval alpha &#x27;my data&#x27; --goal &#x27;&lt;b&gt;upright" in text
    assert "<b>upright</b>" not in text  # escaped
    inlined = base64.b64encode(png.read_bytes()).decode()
    assert f"data:image/png;base64,{inlined}" in text
    assert "0.5000 [0.4000, 0.6000]" in text and "careful" in text
    assert "src='http" not in text and "<link" not in text
    data = json.loads((tmp_path / "results.json").read_text())  # strict JSON: no NaN
    assert data["command"] == command
    assert data["results"]["nan"] is None
    assert data["results"]["m"] == {"value": 0.5, "low": None, "high": None}
    assert data["results"]["x"] == x.tolist()


def test_current_command_for_module_invocation(monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/x/vlm_reward/__main__.py", "eval", "alpha", "a b"])
    assert current_command() == "python -m vlm_reward eval alpha 'a b'"
    monkeypatch.setattr(sys, "argv", ["/usr/bin/vlm-reward", "eval", "sweep"])
    assert current_command() == "vlm-reward eval sweep"
