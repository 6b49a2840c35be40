"""The FastAPI application of `corridor serve`: pages, JSON endpoints, downloads.

Every endpoint is a thin shell: scenarios are resolved by ``corridor.web.editor``
(the scenario module's own merge and validation), runs go to the job queue of
``corridor.web.jobs``, results are read and drawn by ``corridor.web.library``
(the library's own functions), and paths are built only by the registry.

Errors reach the page as JSON ``{"error": one line, "field": parameter or null}``:
bad input 400 (422 for a request of the wrong shape), unknown run 404, a body over
the size limit 413, a full queue 503; an unexpected exception is logged on the
server and answered with one line, never a traceback.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from corridor import __version__
from corridor.errors import CorridorInputError
from corridor.scenario import parse_month, scenario_descriptions
from corridor.web import editor, library
from corridor.web.jobs import JobQueue, QueueFull
from corridor.web.registry import Registry, RunNotFound

log = logging.getLogger("corridor.web")
STATIC = Path(str(resources.files("corridor.web") / "static"))
MAX_AGENTS = 3_000_000  # the whole origin population, one agent per person
MAX_RUNS = 200


class JobRequest(BaseModel):
    """A run to start: the edited scenario, the mode and its sizes."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["run", "ensemble", "compare"] = "run"
    scenario: editor.ScenarioEdit
    baseline: editor.ScenarioEdit | None = Field(default=None, description="compare: the baseline arm (default: the unedited base)")
    agents: int = Field(default=100_000, ge=100, le=MAX_AGENTS)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    runs: int = Field(default=20, ge=2, le=MAX_RUNS)
    posterior: str = "all-years"
    since: str | None = None
    until: str | None = None
    life_events: bool = False


MAX_BODY_BYTES = editor.MAX_UPLOAD_BYTES + 64 * 1024  # a scenario file and its multipart envelope


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request is over {MAX_BODY_BYTES // 1024} KiB; a scenario file may have at most {editor.MAX_UPLOAD_BYTES // 1024} KiB")


class BodyLimit:
    """ASGI middleware: refuse a body over ``MAX_BODY_BYTES``, by its declared length or as it arrives,
    so that an oversized upload is never read whole nor spooled to disk."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await _error(413, BodyTooLarge().detail)(scope, receive, send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": editor.field_of(message)}, status_code=status, headers=headers)


def _one_line_validation(exc: RequestValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where or 'request'}: {err.get('msg', 'invalid')}"


@cache
def bundled_scenarios() -> list[dict]:
    """The bundled scenarios and their descriptions (read once: they do not change while serving)."""
    return [{"name": n, "description": d} for n, d in scenario_descriptions()]


def create_app(runs_dir: str | Path = "runs", slots: int = 2, capacity: int = 16, scheduler: str = "sync") -> FastAPI:
    """The workbench app over one runs directory: ``slots`` runs computed at a time, ``capacity`` waiting or
    running at most; ``scheduler`` is where ensembles and comparisons run their draws (a Dask scheduler
    address, as ``corridor ensemble --scheduler``; "sync", the default, runs them in the job's own process)."""
    registry = Registry(runs_dir)
    jobs = JobQueue(registry, slots=slots, capacity=capacity)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        registry.mark_interrupted()
        jobs.start()
        yield
        jobs.stop()

    app = FastAPI(title="corridor workbench", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.registry, app.state.jobs = registry, jobs
    app.add_middleware(BodyLimit)

    # ------------------------------------------------------------ errors

    @app.exception_handler(CorridorInputError)
    async def _bad_input(request: Request, exc: CorridorInputError):
        return _error(400, str(exc))

    @app.exception_handler(RunNotFound)
    async def _not_found(request: Request, exc: RunNotFound):
        return _error(404, str(exc))

    @app.exception_handler(QueueFull)
    async def _full(request: Request, exc: QueueFull):
        return _error(503, str(exc), headers={"Retry-After": "10"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _error(422, _one_line_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the server keeps serving, see its log")

    # ------------------------------------------------------------ pages

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/runs/{run_id}", include_in_schema=False)
    def permalink(run_id: str) -> FileResponse:
        registry.folder(run_id)  # an unknown id is a 404, not an empty page
        return FileResponse(STATIC / "index.html")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(library.plotly_js_path(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------ scenarios

    @app.get("/api/info")
    def info() -> dict:
        return {
            "version": __version__,
            "posteriors": library.shipped_posteriors(),
            "max_upload_bytes": editor.MAX_UPLOAD_BYTES,
            "max_agents": MAX_AGENTS,
            "max_runs": MAX_RUNS,
            "queue_capacity": jobs.capacity,
            "parallel_runs": jobs.slots,
            "key_outputs": library.KEY_OUTPUTS,
        }

    @app.get("/api/scenarios")
    def scenarios() -> list[dict]:
        return bundled_scenarios()

    @app.get("/api/scenarios/{base}")
    def scenario(base: str) -> dict:
        return editor.editor_view(editor.load_base(base, registry.uploads), base)

    @app.post("/api/scenario/check")
    def check(edit: editor.ScenarioEdit) -> dict:
        """Whether an edit is a scenario `corridor run` accepts: ok with the resolved view, or the CLI's message."""
        try:
            edited = editor.resolve_edit(edit, registry.uploads)
        except CorridorInputError as exc:
            return {"ok": False, "error": str(exc), "field": editor.field_of(str(exc))}
        return {"ok": True, **editor.editor_view(edited.scenario, edit.base), "yaml": edited.yaml_text}

    @app.post("/api/scenario/yaml")
    def scenario_yaml(edit: editor.ScenarioEdit) -> Response:
        edited = editor.resolve_edit(edit, registry.uploads)
        return Response(
            edited.yaml_text,
            media_type="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="{edited.scenario.name}.yaml"'},
        )

    @app.post("/api/scenario/upload")
    async def upload(file: Annotated[UploadFile, File(description="a scenario YAML file")]) -> dict:
        content = await file.read(editor.MAX_UPLOAD_BYTES + 1)

        def validate() -> dict:  # parsing and validating take a while: off the event loop
            base = editor.store_upload(content, file.filename or "upload.yaml", registry.uploads)
            return editor.editor_view(editor.load_base(base, registry.uploads), base)

        return await run_in_threadpool(validate)

    # ------------------------------------------------------------ jobs

    @app.post("/api/jobs", status_code=202)
    def submit(request: JobRequest) -> dict:
        run_id, folder, label = library.prepare_job(registry, _checked(request), scheduler)
        job = jobs.submit(run_id, request.kind, folder, label)
        return {**job.public(), "permalink": f"/runs/{run_id}"}

    @app.get("/api/jobs")
    def job_list() -> list[dict]:
        return [j.public() for j in jobs.jobs()]

    @app.get("/api/jobs/{run_id}")
    def job_status(run_id: str) -> dict:
        job = jobs.get(run_id)
        return job.public() if job else library.job_from_record(registry.record(run_id))

    @app.post("/api/jobs/{run_id}/cancel")
    def cancel(run_id: str) -> dict:
        registry.folder(run_id)
        job = jobs.cancel(run_id)
        return job.public() if job else library.job_from_record(registry.record(run_id))

    # ------------------------------------------------------------ runs

    @app.get("/api/runs")
    def runs() -> list[dict]:
        return registry.list()

    @app.get("/api/runs/{run_id}")
    def run(run_id: str) -> dict:
        record = registry.record(run_id)
        return {**record, "files": registry.files(run_id), "permalink": f"/runs/{run_id}"}

    @app.get("/api/runs/{run_id}/view")
    def view(
        run_id: str, output: str | None = None, since: str | None = None, until: str | None = None, period: str | None = None
    ) -> dict:
        record = _finished(run_id)
        return library.run_view(registry.folder(run_id), record, output, since, until, period)

    @app.get("/api/runs/{run_id}/cases")
    def cases(run_id: str, n: int = 6) -> dict:
        _finished(run_id)
        return library.case_histories(registry.folder(run_id), max(1, min(n, 50)))

    @app.get("/api/runs/{run_id}/files/{name}")
    def file(run_id: str, name: str) -> FileResponse:
        return FileResponse(registry.file(run_id, name), filename=name)

    @app.get("/api/runs/{run_id}/download/{fmt}")
    def download(run_id: str, fmt: Literal["parquet", "csv", "xlsx", "yaml"]) -> FileResponse:
        _finished(run_id)
        path = library.download(registry.folder(run_id), fmt)
        return FileResponse(path, filename=f"{run_id}-{path.name}")

    @app.get("/api/runs/{run_id}/report")
    def report(run_id: str) -> FileResponse:
        _finished(run_id)
        return FileResponse(library.html_report(registry.folder(run_id)), media_type="text/html")

    def _finished(run_id: str) -> dict:
        record = registry.record(run_id)
        if record.get("status") != "done":
            raise CorridorInputError(f"run '{run_id}' is {record.get('status')}; its results exist once it is done")
        return record

    def _checked(request: JobRequest) -> JobRequest:
        for flag in ("since", "until"):
            month = getattr(request, flag)
            if month is not None:
                try:
                    parse_month(month)
                except ValueError as exc:
                    raise CorridorInputError(f"{flag}: {exc}") from None
        if request.posterior not in library.shipped_posteriors():
            raise CorridorInputError(
                f"posterior '{request.posterior}': use one of the shipped posteriors: {', '.join(library.shipped_posteriors())}"
            )
        return request

    return app
