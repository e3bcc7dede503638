"""The HTTP API through FastAPI's TestClient (no network, same app the server runs)."""

from __future__ import annotations

import asyncio
import csv
import io
import os

import numpy as np
import pytest
from fastapi.testclient import TestClient
from labelling_data import TASK, write_dataset, write_run
from PIL import Image

from vlm_reward.evaluation.labels import LabelStore
from vlm_reward.labelling.app import MAX_BODY_BYTES, create_app, safe_data_path

BASE = "http://127.0.0.1"


def client_for(path, **kwargs) -> TestClient:
    return TestClient(create_app(path, **kwargs), base_url=BASE)


def answer(client: TestClient, rater: str, index: int, label: str) -> dict:
    response = client.post("/api/labels", json={"rater": rater, "index": index, "label": label})
    assert response.status_code == 200, response.text
    return response.json()


def test_info_item_and_frame(dataset):
    client = client_for(dataset, rater="ann")
    info = client.get("/api/info").json()
    assert info == {"name": "ds", "default_rater": "ann", "error": None, "kind": "dataset",
                    "unit": "frame", "total": 5, "task": TASK}
    assert client.get("/api/order").json() == {"unit": "frame", "indices": [0, 1, 2, 3, 4]}
    item = client.get("/api/items/2").json()
    assert item["index"] == 2 and item["media_type"] == "image"
    png = client.get(item["url"])
    assert png.headers["content-type"] == "image/png"
    assert np.asarray(Image.open(io.BytesIO(png.content)))[0, 0, 0] == 2
    assert client.get("/api/items/5").status_code == 404
    assert client.get("/api/frame/7.png").status_code == 404


def test_answers_are_stored_changed_and_counted_per_rater(dataset):
    client = client_for(dataset)
    assert answer(client, "ann", 0, "success")["n_labelled"] == 1
    assert answer(client, "ann", 1, "failure")["n_labelled"] == 2
    # going back and changing an answer replaces it and does not count twice
    assert answer(client, "ann", 0, "unsure")["n_labelled"] == 2
    assert answer(client, "bob", 0, "success")["n_labelled"] == 1
    mine = client.get("/api/labels", params={"rater": "ann"}).json()
    assert mine == {"rater": "ann", "labels": {"0": "unsure", "1": "failure"},
                    "n_labelled": 2, "total": 5}
    assert client.get("/api/raters").json() == {"raters": {"ann": 2, "bob": 1}, "total": 5}
    # what the API acknowledged is in the database next to the data
    store = LabelStore(dataset / "labels.sqlite")
    assert store.labels_for("frame", "ann") == {0: "unsure", 1: "failure"}
    assert [r.label for r in store.history() if r.rater == "ann"] == [
        "success", "failure", "unsure"]


def test_export_csv_content(dataset):
    client = client_for(dataset)
    answer(client, "bob", 3, "failure")
    answer(client, "ann", 3, "success")
    answer(client, "ann", 0, "unsure")
    response = client.get("/api/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["index", "rater", "label", "timestamp"]
    assert [r[:3] for r in rows[1:]] == [
        ["0", "ann", "unsure"], ["3", "ann", "success"], ["3", "bob", "failure"]]


def test_agreement_and_summary_endpoints(dataset):
    client = client_for(dataset)
    # ann S S F S, bob S S F F (items 0-3) -> 75 % agreement, kappa 0.5 (see test_agreement)
    for i, (a, b) in enumerate(zip("SSFS", "SSFF", strict=True)):
        label = {"S": "success", "F": "failure"}
        answer(client, "ann", i, label[a])
        answer(client, "bob", i, label[b])
    report = client.get("/api/agreement").json()
    assert report["unit"] == "frame" and report["fleiss"] is None
    assert report["pairs"][0]["percent_agreement"] == pytest.approx(0.75)
    assert report["pairs"][0]["cohen_kappa"] == pytest.approx(0.5)
    summary = client.get("/api/summary").json()
    # majority: 0 S, 1 S, 2 F, 3 tie -> 2 / 3 decided are successes
    assert (summary["n_success"], summary["n_failure"], summary["n_undecided"]) == (2, 1, 1)
    assert summary["success_rate"] == pytest.approx(2 / 3)


def test_clip_mode_labels_episodes(dataset):
    client = client_for(dataset, clips=True)
    assert client.get("/api/order").json() == {"unit": "episode", "indices": [0, 1]}
    gif = client.get(client.get("/api/items/1").json()["url"])
    assert gif.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(gif.content)).n_frames == 2
    answer(client, "ann", 1, "success")
    assert client.get("/api/export.csv").text.splitlines()[1].startswith("1,ann,success,")
    # frame labels of the same folder are a different unit
    assert client_for(dataset).get("/api/raters").json()["raters"] == {}


@pytest.mark.parametrize("body", [
    {"rater": "ann", "index": 0, "label": "maybe"},
    {"rater": "ann", "index": 0, "label": "SUCCESS"},
    {"rater": "", "index": 0, "label": "success"},
    {"rater": "../../x", "index": 0, "label": "success"},
    {"rater": "<img src=x>", "index": 0, "label": "success"},
    {"rater": "a" * 65, "index": 0, "label": "success"},
    {"rater": "ann", "index": -1, "label": "success"},
    {"rater": "ann", "index": "0", "label": "success"},
    {"rater": "ann", "index": 1.5, "label": "success"},
    {"rater": "ann", "index": 99, "label": "success"},
    {"rater": "ann", "label": "success"},
    {"rater": "ann", "index": 0, "label": "success", "extra": 1},
])
def test_bad_bodies_are_422_and_store_nothing(dataset, body):
    client = client_for(dataset)
    assert client.post("/api/labels", json=body).status_code == 422
    assert client.get("/api/raters").json()["raters"] == {}


def test_non_json_posts_and_bad_rater_queries_are_refused(dataset):
    client = client_for(dataset)
    body = '{"rater": "ann", "index": 0, "label": "success"}'
    response = client.post("/api/labels", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert client.get("/api/labels", params={"rater": "../x"}).status_code == 422
    assert client.get("/api/raters").json()["raters"] == {}


def _oversized_label(size: int) -> bytes:
    """A well-formed answer padded with whitespace to ``size`` bytes (valid JSON)."""
    body = b'{"rater": "ann", "index": 0, "label": "success"}'
    return body + b" " * (size - len(body))


def test_a_declared_oversized_body_is_413_before_any_byte_is_read(dataset):
    """The Content-Length alone decides: the app never asks the server for the body."""
    app = create_app(dataset)
    sent: list[dict] = []
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/labels", "raw_path": b"/api/labels",
        "query_string": b"", "root_path": "", "server": ("127.0.0.1", 8765),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"content-length", str(MAX_BODY_BYTES + 1).encode())],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert reads == 0
    assert not (dataset / "labels.sqlite").exists() or (
        LabelStore(dataset / "labels.sqlite").rows() == [])


def test_a_streamed_oversized_body_is_cut_off_with_413(dataset):
    """Without a Content-Length (chunked upload) the bytes are counted as they arrive."""
    client = client_for(dataset)

    def chunks():
        for _ in range(8):
            yield b" " * (MAX_BODY_BYTES // 4)

    response = client.post("/api/labels", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/labels", content=_oversized_label(MAX_BODY_BYTES + 1),
                       headers={"content-type": "application/json"}).status_code == 413
    assert client.get("/api/raters").json()["raters"] == {}
    # a body at the limit is still answered
    ok = client.post("/api/labels", content=_oversized_label(MAX_BODY_BYTES),
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text


def test_requests_for_other_host_names_are_refused(dataset):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must get nothing."""
    evil = TestClient(create_app(dataset), base_url="http://evil.example")
    assert evil.get("/api/info").status_code == 400
    assert client_for(dataset).get("/api/info").status_code == 200


@pytest.fixture(scope="module")
def run_with_secret(tmp_path_factory):
    """A run folder, a secret next to it and a symlink inside it that points at the secret."""
    base = tmp_path_factory.mktemp("traversal")
    run_dir = write_run(base / "run", 1)
    secret = base / "secret.mp4"
    secret.write_bytes(b"SECRET-BYTES")
    (base / "passwd").write_text("root:x:0:0")
    os.symlink(secret, run_dir / "videos" / "link.mp4")
    return run_dir


@pytest.mark.parametrize("url", [
    "/files/..%2fsecret.mp4",
    "/files/videos%2f..%2f..%2fsecret.mp4",
    "/files/%2e%2e/secret.mp4",
    "/files/%2E%2E%2F%2E%2E%2Fpasswd",
    "/files/videos/..%2F..%2Fsecret.mp4",
    "/files/..%5csecret.mp4",
    "/files/%2Fetc%2Fpasswd",
    "/files//etc/passwd",
    "/files/%2f%2fetc/passwd",
    "/files/videos/link.mp4",
    "/files/config.yaml",
    "/files/labels.sqlite",
    "/files/videos/eval_000.mp4%00.png",
])
def test_path_traversal_and_non_media_files_are_refused(run_with_secret, url):
    client = client_for(run_with_secret)
    client.get("/api/info")  # the store exists
    response = client.get(url)
    assert response.status_code == 403, (url, response.status_code)
    assert b"SECRET" not in response.content and b"root:" not in response.content


def test_run_videos_are_served_from_inside_the_folder(run_dir):
    client = client_for(run_dir)
    item = client.get("/api/items/1").json()
    assert item["media_type"] == "video" and item["url"] == "/files/videos/eval_001.mp4"
    response = client.get(item["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert response.content == (run_dir / "videos" / "eval_001.mp4").read_bytes()
    assert client.get("/files/videos/missing.mp4").status_code == 404


def test_odd_but_legal_video_names_are_url_encoded_and_served(run_dir):
    odd = run_dir / "videos" / "eval 10:00 #2.mp4"
    odd.write_bytes((run_dir / "videos" / "eval_000.mp4").read_bytes())
    client = client_for(run_dir)
    item = client.get("/api/items/0").json()
    assert item["key"] == "eval 10:00 #2.mp4"
    assert item["url"] == "/files/videos/eval%2010%3A00%20%232.mp4"
    assert client.get(item["url"]).content == odd.read_bytes()
    assert client.get("/files/C:%2Fwindows%2Fx.mp4").status_code == 403


def test_safe_data_path_resolves_only_inside(run_dir):
    assert safe_data_path(run_dir, "videos/eval_000.mp4") == (
        run_dir / "videos" / "eval_000.mp4").resolve()


@pytest.mark.parametrize("case", ["missing", "empty", "not-a-dataset"])
def test_missing_or_empty_data_gives_a_page_that_says_so(tmp_path, case):
    target = tmp_path / "data"
    if case == "empty":
        write_dataset(target, [])
    elif case == "not-a-dataset":
        target.mkdir()
    client = client_for(target)
    info = client.get("/api/info").json()
    expected = {"missing": "does not exist", "empty": "nothing to label",
                "not-a-dataset": "neither a dataset"}[case]
    assert expected in info["error"] and info["total"] == 0
    assert client.get("/").status_code == 200
    assert client.get("/api/items/0").status_code == 404
    assert client.post("/api/labels",
                       json={"rater": "ann", "index": 0, "label": "success"}).status_code == 404
