"""End-to-end: the real page in headless Chromium (Debian's package) against a real server.

Playwright's own browser download does not work offline, so the tests drive the system
Chromium (`make browser` installs it). They skip, saying why, only when it is absent.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from labelling_data import TASK, write_dataset, write_run

from vlm_reward.evaluation.labels import LabelStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SRC = str(Path(__file__).resolve().parents[2] / "src")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not installed at {CHROMIUM}; install it with "
        "`make browser` (apt-get install chromium) to run the end-to-end page tests",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "api/info", timeout=2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}") from None
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer within 30 s")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def cli_server(tmp_path) -> Iterator[tuple[str, Path]]:
    """`vlm-reward label DATASET --rater ann` in a subprocess: the real user path."""
    data = write_dataset(tmp_path / "ds", [4, 2])
    port = free_port()
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vlm_reward", "label", str(data), "--port", str(port),
         "--no-browser", "--rater", "ann"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, proc)
        yield url, data
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def thread_server(path: Path) -> tuple[str, object, threading.Thread]:
    """The same app under uvicorn in a thread (for folders the CLI refuses to serve)."""
    import uvicorn

    from vlm_reward.labelling.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(path), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url)
    return url, server, thread


def stop(server: object, thread: threading.Thread) -> None:
    server.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=10)


def press_and_wait(page, key: str, progress: str, position: str) -> None:
    page.keyboard.press(key)
    expect_state(page, progress, position)


def expect_state(page, progress: str, position: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#progress-text")).to_have_text(progress)
    expect(page.locator("#position")).to_have_text(position)


def test_label_with_clicks_and_keys_reload_and_export(cli_server, page, tmp_path):
    from playwright.sync_api import expect

    url, data = cli_server
    page.goto(url)
    expect(page.locator("#task-text")).to_have_text(TASK)
    expect(page.locator("#rater-name")).to_have_text("ann")
    expect_state(page, "0 / 6 labelled", "item 1 of 6")
    expect(page.locator("#caption")).to_have_text("frame 0 · episode 0 · step 0")
    # the frame really is an image served by the app
    page.wait_for_function("() => document.querySelector('img#item-media').complete"
                           " && document.querySelector('img#item-media').naturalWidth === 32")

    page.click("#btn-success")
    expect_state(page, "1 / 6 labelled", "item 2 of 6")
    press_and_wait(page, "f", "2 / 6 labelled", "item 3 of 6")
    press_and_wait(page, "u", "3 / 6 labelled", "item 4 of 6")

    # go back and change an answer: the count stays, the answer changes
    press_and_wait(page, "ArrowLeft", "3 / 6 labelled", "item 3 of 6")
    expect(page.locator("#current-answer")).to_have_text("your answer: ? unsure")
    expect(page.locator("#btn-unsure")).to_have_class("answer unsure chosen")
    press_and_wait(page, "s", "3 / 6 labelled", "item 4 of 6")
    expect(page.locator("#current-answer")).to_have_text("not labelled yet")

    # a reload keeps the place and every answer (they live on the server)
    page.reload()
    expect_state(page, "3 / 6 labelled", "item 4 of 6")
    page.click("#btn-prev")
    expect_state(page, "3 / 6 labelled", "item 3 of 6")
    expect(page.locator("#current-answer")).to_have_text("your answer: ✓ success")
    press_and_wait(page, "ArrowLeft", "3 / 6 labelled", "item 2 of 6")
    expect(page.locator("#current-answer")).to_have_text("your answer: ✗ failure")
    # "n" jumps to the next unlabelled item
    press_and_wait(page, "n", "3 / 6 labelled", "item 4 of 6")
    expect(page.locator("#raters-line")).to_have_text("raters: ann 3")

    with page.expect_download() as download_info:
        page.click("#export-link")
    exported = tmp_path / "export.csv"
    download_info.value.save_as(exported)
    with exported.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["index", "rater", "label", "timestamp"]
    assert [r[:3] for r in rows[1:]] == [
        ["0", "ann", "success"], ["1", "ann", "failure"], ["2", "ann", "success"]]

    store = LabelStore(data / "labels.sqlite")
    assert store.labels_for("frame", "ann") == {0: "success", 1: "failure", 2: "success"}
    assert [(r.index, r.label) for r in store.history()] == [
        (0, "success"), (1, "failure"), (2, "unsure"), (2, "success")]


def test_a_second_rater_labels_the_same_items_separately(cli_server, page):
    from playwright.sync_api import expect

    url, data = cli_server
    page.goto(url)
    expect_state(page, "0 / 6 labelled", "item 1 of 6")
    page.keyboard.press("s")
    expect_state(page, "1 / 6 labelled", "item 2 of 6")

    page.click("#change-rater")
    expect(page.locator("#rater-form-card")).to_be_visible()
    page.fill("#rater-input", "bob")
    page.keyboard.press("Enter")
    expect(page.locator("#rater-name")).to_have_text("bob")
    expect_state(page, "0 / 6 labelled", "item 1 of 6")
    press_and_wait(page, "f", "1 / 6 labelled", "item 2 of 6")
    # bob's name is kept across a reload (URL), ann's answers are untouched
    page.reload()
    expect(page.locator("#rater-name")).to_have_text("bob")
    expect_state(page, "1 / 6 labelled", "item 2 of 6")
    store = LabelStore(data / "labels.sqlite")
    assert store.labels_for("frame", "ann") == {0: "success"}
    assert store.labels_for("frame", "bob") == {0: "failure"}


def test_run_videos_play_and_are_labelled(tmp_path, page):
    from playwright.sync_api import expect

    run = write_run(tmp_path / "run", 2)
    url, server, thread = thread_server(run)
    try:
        page.goto(url + "?rater=cy")
        expect(page.locator("#task-text")).to_have_text("a humanoid kneeling")
        page.wait_for_function(
            "() => { const v = document.querySelector('video#item-media');"
            " return v && v.readyState >= 2 && v.videoWidth === 48; }")
        press_and_wait(page, "s", "1 / 2 labelled", "item 2 of 2")
    finally:
        stop(server, thread)
    rows = LabelStore(run / "labels.sqlite").rows("video")
    assert [(r.index, r.key, r.rater, r.label) for r in rows] == [
        (0, "eval_000.mp4", "cy", "success")]


@pytest.mark.parametrize("case", ["empty", "missing"])
def test_empty_or_missing_data_shows_a_clear_page(tmp_path, page, case):
    from playwright.sync_api import expect

    target = tmp_path / "data"
    if case == "empty":
        write_dataset(target, [])
    url, server, thread = thread_server(target)
    try:
        page.goto(url + "?rater=ann")
        expect(page.locator("#problem")).to_be_visible()
        expect(page.locator("#problem-title")).to_have_text("Nothing to label")
        text = "nothing to label yet" if case == "empty" else "does not exist"
        expect(page.locator("#problem-text")).to_contain_text(text)
        expect(page.locator("#labeller")).to_be_hidden()
    finally:
        stop(server, thread)
