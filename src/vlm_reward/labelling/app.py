"""The labelling web app (FastAPI): a page, a small JSON API and the media it shows.

Routes:
    ``GET /``                      the page (static HTML/JS/CSS from ``labelling/static``)
    ``GET /api/info``              task, unit, total, or the reason there is nothing to label
    ``GET /api/order``             item indices in labelling order
    ``GET /api/items/{position}``  one item: its index, media URL and caption
    ``GET /api/frame/{i}.png``     frame ``i`` of a dataset, PNG-encoded from the memory map
    ``GET /api/clip/{e}.gif``      episode ``e`` of a dataset as an animated GIF
    ``GET /files/{path}``          a media file inside the data folder (run videos)
    ``GET /api/labels?rater=``     one rater's answers and progress
    ``POST /api/labels``           store one answer ``{rater, index, label}``
    ``GET /api/raters``            raters and how many items each labelled
    ``GET /api/export.csv``        all answers as ``index,rater,label,timestamp``
    ``GET /api/agreement``         pairwise percent agreement, Cohen's and Fleiss' kappa
    ``GET /api/summary``           human success rate (majority vote)

Safety: only requests whose Host is the address the server was started on (or localhost) are
answered, which defeats DNS-rebinding pages; a request body over :data:`MAX_BODY_BYTES` is
refused with 413 before it is read (FastAPI's ``max_body_size``: a larger Content-Length is
refused outright, a body streamed without one is cut off once it passes the limit); request
bodies are pydantic models that reject unknown fields, wrong types, bad labels and bad rater
names (422); files are served only from inside the data folder and only with media suffixes
(403 for anything else).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vlm_reward.errors import DependencyNotInstalled, VLMRewardError

try:
    from fastapi import Body, FastAPI, HTTPException, Query
    from fastapi import Path as PathParam
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.trustedhost import TrustedHostMiddleware
except ImportError as exc:  # pragma: no cover - depends on the install
    raise DependencyNotInstalled("fastapi", "web", "The labelling app") from exc

from vlm_reward.evaluation.labels import LABELS_SQLITE_FILE, RATER_PATTERN, LabelStore
from vlm_reward.labelling.agreement import agreement_report
from vlm_reward.labelling.items import ItemSource, open_source
from vlm_reward.labelling.summary import human_success_rate

__all__ = ["MAX_BODY_BYTES", "STATIC_DIR", "LabelIn", "PathRefused", "create_app",
           "safe_data_path"]

# One answer is well under 200 bytes of JSON; nothing the page sends comes near this.
MAX_BODY_BYTES = 16 * 1024

STATIC_DIR = Path(__file__).parent / "static"
SERVED_SUFFIXES = frozenset({".mp4", ".webm", ".gif", ".png", ".jpg", ".jpeg"})
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".webm": "video/webm", ".gif": "image/gif", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
}


Rater = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=RATER_PATTERN, max_length=64)
]


class LabelIn(BaseModel):
    """One answer from the page; anything else in the body is refused (422)."""

    model_config = ConfigDict(extra="forbid")
    rater: Rater
    index: int = Field(ge=0, strict=True)
    label: Literal["success", "failure", "unsure"]


_DRIVE = re.compile(r"^[A-Za-z]:")


class PathRefused(Exception):
    """A requested file path points outside the data folder or at a non-media file."""


def safe_data_path(root: Path, requested: str) -> Path:
    """Resolve ``requested`` inside ``root`` or raise :class:`PathRefused`.

    Refuses absolute paths, Windows drive letters, backslashes, ``..`` components, NUL bytes,
    symlinks leading outside ``root`` and suffixes other than media files.
    """
    if not requested or "\x00" in requested or "\\" in requested or _DRIVE.match(requested):
        raise PathRefused(requested)
    pure = PurePosixPath(requested)
    if pure.is_absolute() or any(part in ("..", ".") for part in pure.parts):
        raise PathRefused(requested)
    root = root.resolve()
    candidate = (root / pure).resolve()
    if not candidate.is_relative_to(root) or candidate == root:
        raise PathRefused(requested)
    if candidate.suffix.lower() not in SERVED_SUFFIXES:
        raise PathRefused(requested)
    return candidate


def create_app(
    path: str | Path,
    *,
    clips: bool = False,
    task: str | None = None,
    rater: str | None = None,
    fps: float = 15.0,
    db_path: str | Path | None = None,
    allowed_hosts: list[str] | None = None,
) -> Any:
    """Build the FastAPI app for one dataset or run folder.

    A missing or unreadable folder does not raise here: the app still starts and its page
    explains the problem (the CLI checks first and refuses to start in that case).

    Args:
        path: dataset folder or run folder.
        clips: label whole episodes of a dataset instead of single frames.
        task: task sentence shown to raters (default: from the dataset or run config).
        rater: name pre-filled in the page.
        fps: playback speed of episode clips.
        db_path: label database (default ``PATH/labels.sqlite``).
        allowed_hosts: Host header values answered (default: localhost names and 127.0.0.1).
    """
    root = Path(path).expanduser()
    source: ItemSource | None = None
    store: LabelStore | None = None
    problem: str | None = None
    try:
        source = open_source(root, clips=clips, task=task, fps=fps)
        store = LabelStore(Path(db_path) if db_path else source.root / LABELS_SQLITE_FILE)
    except VLMRewardError as exc:
        problem = str(exc)
    if source is not None and problem is None and len(source) == 0:
        what = "videos in videos/" if source.unit == "video" else (
            "episodes" if source.unit == "episode" else "frames")
        problem = f"{source.root} holds no {what}: there is nothing to label yet."

    app = FastAPI(title="vlm-reward labelling", docs_url=None, redoc_url=None,
                  openapi_url=None, max_body_size=MAX_BODY_BYTES)
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost", "::1", "[::1]"],
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def need_source() -> tuple[ItemSource, LabelStore]:
        if source is None or store is None or problem is not None:
            raise HTTPException(404, detail=problem or "nothing to label")
        return source, store

    def item_or_422(src: ItemSource, index: int) -> Any:
        item = src.by_index(index)
        if item is None:
            raise HTTPException(
                422, detail=f"index {index} is not an item of this {src.kind} "
                f"({len(src)} {src.unit}s)"
            )
        return item

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        base: dict[str, Any] = {"name": root.name or str(root), "default_rater": rater,
                                "error": problem}
        if source is not None:
            base.update(source.describe())
        else:
            base.update({"kind": None, "unit": None, "total": 0, "task": task})
        return base

    @app.get("/api/order")
    def get_order() -> dict[str, Any]:
        src, _ = need_source()
        return {"unit": src.unit, "indices": [item.index for item in src.items]}

    @app.get("/api/items/{position}")
    def get_item(position: Annotated[int, PathParam(ge=0)]) -> dict[str, Any]:
        src, _ = need_source()
        if position >= len(src):
            raise HTTPException(404, detail=f"position {position} >= {len(src)} items")
        item = src.items[position]
        return {"position": item.position, "index": item.index, "key": item.key,
                "media_type": item.media_type, "url": item.url, "caption": item.caption}

    @app.get("/api/frame/{index}.png")
    def frame_png(index: int) -> Response:
        src, _ = need_source()
        try:
            data = src.frame_png(index)
        except KeyError:
            raise HTTPException(404, detail=f"no frame {index}") from None
        return Response(data, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/clip/{episode}.gif")
    def clip_gif(episode: int) -> Response:
        src, _ = need_source()
        try:
            data = src.clip_gif(episode)
        except KeyError:
            raise HTTPException(404, detail=f"no episode {episode}") from None
        return Response(data, media_type="image/gif",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/files/{requested:path}")
    def data_file(requested: str) -> FileResponse:
        src, _ = need_source()
        try:
            target = safe_data_path(src.root, requested)
        except PathRefused:
            raise HTTPException(403, detail="path refused: only media files inside the data "
                                "folder are served") from None
        if not target.is_file():
            raise HTTPException(404, detail="no such file")
        return FileResponse(target, media_type=MEDIA_TYPES[target.suffix.lower()])

    @app.get("/api/labels")
    def get_labels(rater_name: Annotated[Rater, Query(alias="rater")]) -> dict[str, Any]:
        src, st = need_source()
        labels = st.labels_for(src.unit, rater_name)
        return {"rater": rater_name, "labels": {str(k): v for k, v in labels.items()},
                "n_labelled": len(labels), "total": len(src)}

    @app.post("/api/labels")
    def post_label(answer: Annotated[LabelIn, Body()]) -> dict[str, Any]:
        src, st = need_source()
        item = item_or_422(src, answer.index)
        row = st.set_label(src.unit, item.index, item.key, answer.rater, answer.label)
        n_labelled = len(st.labels_for(src.unit, answer.rater))
        return {"index": row.index, "rater": row.rater, "label": row.label,
                "timestamp": row.timestamp, "n_labelled": n_labelled, "total": len(src)}

    @app.get("/api/raters")
    def get_raters() -> dict[str, Any]:
        src, st = need_source()
        return {"raters": st.raters(src.unit), "total": len(src)}

    @app.get("/api/export.csv")
    def export_csv() -> Response:
        src, st = need_source()
        filename = f"{src.root.name or 'labels'}-{src.unit}-labels.csv"
        return Response(st.to_csv(src.unit), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @app.get("/api/agreement")
    def get_agreement() -> dict[str, Any]:
        src, st = need_source()
        by_rater: dict[str, dict[int, str]] = {}
        for row in st.rows(src.unit):
            by_rater.setdefault(row.rater, {})[row.index] = row.label
        return {"unit": src.unit, **agreement_report(by_rater)}

    @app.get("/api/summary")
    def get_summary() -> dict[str, Any]:
        src, st = need_source()
        result = human_success_rate(st.path, unit=src.unit)
        result["verdicts"] = {str(k): v for k, v in result["verdicts"].items()}
        result["total"] = len(src)
        return result

    @app.exception_handler(VLMRewardError)
    def user_error(_request: Any, exc: VLMRewardError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app
