"""``vlm-reward label``: human labelling web app, CSV export, agreement and human success rate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vlm_reward.cli import app
from vlm_reward.errors import ConfigError
from vlm_reward.paths import check_output_path

if TYPE_CHECKING:
    from vlm_reward.evaluation.labels import LabelStore

__all__ = ["label"]

console = Console()


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if percent else f"{value:.3f}"


@app.command()
def label(
    path: Path = typer.Argument(..., help="Dataset folder (frames.npy, table.csv, dataset.json) "
                                "or run folder (videos/*.mp4)."),
    port: int = typer.Option(8765, help="TCP port of the local web server."),
    host: str = typer.Option("127.0.0.1", help="Address to bind; keep the loopback default "
                             "unless raters on other machines must reach it."),
    rater: str | None = typer.Option(None, help="Rater name pre-filled in the page."),
    task: str | None = typer.Option(None, help="Task sentence shown to raters (default: the "
                                    "dataset's task or the run's reward goal)."),
    clips: bool = typer.Option(False, "--clips", help="Label whole episodes of a dataset as "
                               "animated clips instead of single frames."),
    fps: float = typer.Option(15.0, help="Playback speed of --clips animations."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    export: Path | None = typer.Option(None, "--export", help="Write the labels to this CSV "
                                       "(index,rater,label,timestamp) and exit; exit code 2 "
                                       "and no file when there are none."),
    agreement: bool = typer.Option(False, "--agreement", help="Print agreement between raters "
                                   "and exit."),
    success_rate: bool = typer.Option(False, "--success-rate", help="Print the success rate by "
                                      "human verdict (majority of success/failure votes; "
                                      "unsure abstains) and exit."),
) -> None:
    """Label frames, episode clips or run videos as success / failure / unsure in a browser."""
    from vlm_reward.evaluation.labels import LABELS_SQLITE_FILE, LabelStore, validate_rater
    from vlm_reward.labelling.items import open_source

    if export is not None:
        check_output_path(export, "--export", "file")
    source = open_source(path, clips=clips, task=task, fps=fps)
    store_path = source.root / LABELS_SQLITE_FILE
    if export is not None or agreement or success_rate:
        if not store_path.is_file():
            raise ConfigError(f"no labels yet at {store_path}; run `vlm-reward label {path}` "
                              "and label some items first.")
        store = LabelStore(store_path)
        if export is not None:
            n = store.export_csv(source.unit, export)
            console.print(escape(f"wrote {n} {source.unit} label(s) to {export}"),
                          highlight=False, soft_wrap=True)
        if agreement:
            _print_agreement(store, source.unit)
        if success_rate:
            _print_success_rate(store_path, source.unit, len(source))
        return

    if rater is not None:
        rater = validate_rater(rater)
    if len(source) == 0:
        what = {"frame": "frames", "episode": "episodes", "video": "videos in videos/"}
        raise ConfigError(f"{source.root} holds no {what[source.unit]}: nothing to label. "
                          "Collect a dataset or train a run with evaluation videos first.")
    writable = store_path if store_path.exists() else source.root
    if not os.access(writable, os.W_OK):
        raise ConfigError(f"cannot save labels to {store_path}: {writable} is not writable; "
                          "make it writable or copy the data somewhere you can write.")
    from vlm_reward.labelling.server import is_loopback, serve

    if not is_loopback(host):
        console.print(f"[yellow]warning:[/] binding {escape(host)}: anyone who can reach this "
                      "machine can read and write the labels.")
    console.print(escape(f"{len(source)} {source.unit}(s) to label; labels saved to {store_path}"))
    serve(source.root, host=host, port=port, open_browser=not no_browser, clips=clips,
          task=task, rater=rater, fps=fps)


def _print_agreement(store: LabelStore, unit: str) -> None:
    from vlm_reward.labelling.agreement import agreement_report

    by_rater: dict[str, dict[int, str]] = {}
    for row in store.rows(unit):
        by_rater.setdefault(row.rater, {})[row.index] = row.label
    report = agreement_report(by_rater)
    if len(report["raters"]) < 2:
        console.print(escape(f"agreement needs at least two raters; found "
                             f"{report['raters'] or 'none'}"))
        return
    table = Table(title=f"agreement between raters ({unit} labels)")
    for column in ("rater A", "rater B", "common items", "agreement", "Cohen's kappa"):
        table.add_column(column)
    for pair in report["pairs"]:
        table.add_row(escape(pair["raters"][0]), escape(pair["raters"][1]), str(pair["n_common"]),
                      _fmt(pair["percent_agreement"], percent=True), _fmt(pair["cohen_kappa"]))
    console.print(table)
    if report["fleiss"] is not None:
        fleiss = report["fleiss"]
        console.print(f"Fleiss' kappa over {fleiss['n_items']} item(s) labelled by all "
                      f"{len(report['raters'])} raters: {_fmt(fleiss['kappa'])}")


def _print_success_rate(store_path: Path, unit: str, total: int) -> None:
    from vlm_reward.labelling.summary import human_success_rate

    result = human_success_rate(store_path, unit=unit)
    table = Table(title=f"human success rate ({unit} labels, majority of decisive votes)",
                  show_header=False)
    table.add_row("raters", escape(", ".join(result["raters"])) or "none")
    table.add_row("labelled", f"{result['n_labelled']} / {total}")
    table.add_row("success / failure / undecided",
                  f"{result['n_success']} / {result['n_failure']} / {result['n_undecided']}")
    table.add_row("success rate", _fmt(result["success_rate"], percent=True))
    console.print(table)
