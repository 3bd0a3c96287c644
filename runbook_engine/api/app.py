"""The HTTP API (FastAPI): trigger whitelisted playbooks, follow them, decide approvals.

Every endpoint but /health needs `Authorization: Bearer <token>`; a token sees only the
playbooks it is scoped to (and their runs). A request names a playbook by its whitelist
name; no path from a request ever reaches the filesystem.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from runbook_engine import __version__
from runbook_engine.api.config import ServerConfig, TokenEntry
from runbook_engine.api.runs import POLL_SECONDS, RUN_ID_PATTERN, RunManager, combined_limit
from runbook_engine.api.tokens import TokenStore
from runbook_engine.scheduler.config import NAME_PATTERN

ParamValue = str | int | float | bool | list[str | int | float | bool]
# One host or group name, glob or range: no unions, exclusions or @files from a request,
# so that intersected with the entry's own limit it can only narrow the hosts.
LIMIT_PATTERN = r"^[A-Za-z0-9_.*\[\]-]{1,200}$"


class TriggerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    playbook: str = Field(pattern=f"^{NAME_PATTERN}$", description="a whitelisted name")
    params: dict[str, ParamValue] = Field(default_factory=dict)
    extra_vars: dict[str, Any] = Field(
        default_factory=dict, description="only the names the server config allows")
    limit: str | None = Field(None, pattern=LIMIT_PATTERN,
                              description="narrow the hosts to one host or group name")
    check: bool = Field(False, description="dry run: report what would change")


class TriggerResponse(BaseModel):
    run_id: str
    playbook: str
    result_url: str
    events_url: str


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str | None = Field(None, max_length=200,
                             description="the step to decide (default: the one waiting)")
    reason: str = Field("", max_length=2000)


def _authenticated(request: Request) -> TokenEntry:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    tokens: TokenStore = request.app.state.tokens
    entry = tokens.verify(presented.strip()) if scheme.lower() == "bearer" else None
    if entry is None:
        raise HTTPException(401, "missing or invalid token",
                            headers={"WWW-Authenticate": "Bearer"})
    return entry


Token = Annotated[TokenEntry, Depends(_authenticated)]


def create_app(config: ServerConfig) -> FastAPI:
    assert config.runs_dir is not None
    tokens = TokenStore(config)
    manager = RunManager(config.runs_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(manager.shutdown)

    app = FastAPI(title="runbook-engine", version=__version__, lifespan=lifespan,
                  description="Trigger whitelisted maintenance playbooks and follow them.")
    app.state.tokens = tokens

    def visible_run(run_id: str, token: TokenEntry) -> tuple[str, Any]:
        """(playbook name, journal record or None) of a run this token may see."""
        if not RUN_ID_PATTERN.match(run_id):
            raise HTTPException(404, "no such run")
        record = _journal_record(run_id)
        launched = manager.launched(run_id)
        name = launched.playbook if launched else (
            config.playbook_name_of(record.playbook) if record else None)
        if name is None:
            raise HTTPException(404, "no such run")
        if not token.allows(name):
            raise HTTPException(403, f"this token may not see runs of {name!r}")
        return name, record

    @app.get("/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/playbooks", tags=["playbooks"])
    def list_playbooks(token: Token) -> list[dict[str, Any]]:
        return [{"name": name, "check": entry.check, "allow_limit": entry.allow_limit,
                 "extra_vars": entry.extra_vars}
                for name, entry in sorted(config.playbooks.items()) if token.allows(name)]

    @app.post("/runs", status_code=202, response_model=TriggerResponse, tags=["runs"])
    def trigger(body: TriggerRequest, token: Token) -> TriggerResponse:
        entry = config.playbooks.get(body.playbook)
        if entry is None:
            raise HTTPException(404, f"no playbook named {body.playbook!r}")
        if not token.allows(body.playbook):
            raise HTTPException(403, f"this token may not run {body.playbook!r}")
        refused = sorted(set(body.extra_vars) - set(entry.extra_vars))
        if refused:
            raise HTTPException(422, f"extra vars not allowed for {body.playbook!r}: "
                                     f"{', '.join(refused)}")
        if body.limit and not entry.allow_limit:
            raise HTTPException(422, f"{body.playbook!r} does not take a limit")
        if _holds_template(body.params) or _holds_template(body.extra_vars):
            raise HTTPException(422, "parameter and extra var values may not hold Jinja2 "
                                     "markup ({{ }}, {% %}, {# #})")
        _validate(entry, body)
        run_id = manager.start(body.playbook, entry, token.name, params=body.params,
                               extra_vars=body.extra_vars, limit=body.limit, check=body.check)
        return TriggerResponse(run_id=run_id, playbook=body.playbook,
                               result_url=f"/runs/{run_id}", events_url=f"/runs/{run_id}/events")

    @app.get("/runs", tags=["runs"])
    def history(token: Token, limit: Annotated[int, Query(ge=1, le=500)] = 20,
                status: Annotated[str | None, Query(pattern="^(running|ok|failed|interrupted)$")]
                = None) -> list[dict[str, Any]]:
        from runbook_engine.state import open_store

        names = [n for n in config.playbooks if token.allows(n)]
        with open_store() as store:
            found = {r.id: r for name in names for r in store.list_runs(
                playbook=str(config.playbooks[name].playbook), status=status, limit=limit)}
        records = sorted(found.values(), key=lambda r: (r.started_at, r.id), reverse=True)
        return [_run_dict(r, config) for r in records[:limit]]

    @app.get("/runs/{run_id}", tags=["runs"])
    def result(run_id: str, token: Token) -> dict[str, Any]:
        name, record = visible_run(run_id, token)
        if record is not None:
            return {**_run_dict(record, config), "approvals": _approvals(run_id)}
        launched = manager.launched(run_id)
        assert launched is not None
        status = "starting" if launched.exit_code is None else "not_started"
        return {"id": run_id, "playbook_name": name, "status": status,
                "exit_code": launched.exit_code, "error": launched.error}

    @app.get("/runs/{run_id}/events", tags=["runs"],
             responses={200: {"content": {"application/x-ndjson": {}},
                              "description": "one JSON event per line, as it happens"}})
    async def events(run_id: str, token: Token) -> StreamingResponse:
        visible_run(run_id, token)
        if manager.launched(run_id) is None:
            raise HTTPException(404, "events are kept only for runs started by this server")
        return StreamingResponse(_follow(manager, run_id), media_type="application/x-ndjson")

    @app.post("/runs/{run_id}/approve", tags=["approvals"])
    def approve(run_id: str, body: DecisionRequest, token: Token) -> dict[str, Any]:
        return _decide(run_id, body, token, approve=True)

    @app.post("/runs/{run_id}/deny", tags=["approvals"])
    def deny(run_id: str, body: DecisionRequest, token: Token) -> dict[str, Any]:
        return _decide(run_id, body, token, approve=False)

    def _decide(run_id: str, body: DecisionRequest, token: TokenEntry,
                approve: bool) -> dict[str, Any]:
        from runbook_engine.errors import InputError
        from runbook_engine.state import open_store

        _name, record = visible_run(run_id, token)
        if record is None:
            raise HTTPException(409, "the run has not started yet")
        with open_store() as store:
            try:
                decision = store.approvals.decide(run_id, body.step, approve,
                                                  user=f"api:{token.name}", reason=body.reason)
            except InputError as exc:
                code = 403 if "may not decide" in exc.message else 409
                raise HTTPException(code, exc.message) from None
        return _decision_dict(decision)

    return app


def _holds_template(value: Any) -> bool:
    """Values people write are rendered when read: from a request, they must stay data."""
    if isinstance(value, str):
        return any(mark in value for mark in ("{{", "{%", "{#"))
    if isinstance(value, dict):
        return any(_holds_template(k) or _holds_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_template(v) for v in value)
    return False


def _validate(entry: Any, body: TriggerRequest) -> None:
    """Load and check the run as the child will (params, variables): 422 before starting."""
    from runbook_engine.engine import RunRequest, prepare
    from runbook_engine.errors import InputError
    from runbook_engine.scheduler.launch import param_text

    request = RunRequest(
        playbook=entry.playbook, inventories=list(entry.inventory),
        extra_vars=[json.dumps(body.extra_vars)] if body.extra_vars else [],
        params=[f"{k}={param_text(v)}" for k, v in body.params.items()],
        limit=combined_limit(entry.limit, body.limit),
        check=body.check or entry.check, interactive=False, journal=False, lock=False)
    try:
        prepare(request)
    except InputError as exc:
        raise HTTPException(422, exc.message + (f" ({exc.hint})" if exc.hint else "")) from None


async def _follow(manager: RunManager, run_id: str) -> AsyncIterator[bytes]:
    lines = manager.event_lines(run_id)
    while True:
        line = await asyncio.to_thread(next, lines, StopIteration)
        if line is StopIteration:
            break
        if line is None:
            await asyncio.sleep(POLL_SECONDS)
            continue
        yield str(line).encode("utf-8")
    launched = manager.launched(run_id)
    final = {"kind": "exit", "run_id": run_id,
             "exit_code": launched.exit_code if launched else None}
    if launched and launched.exit_code not in (0, None) and launched.error:
        final["error"] = launched.error
    yield (json.dumps(final) + "\n").encode("utf-8")


def _journal_record(run_id: str) -> Any:
    from runbook_engine.errors import InputError
    from runbook_engine.state import open_store

    if run_id == "last":  # the store's alias for the newest run, not an id
        return None
    with open_store() as store:
        try:
            return store.get_run(run_id)
        except InputError:
            return None


def _approvals(run_id: str) -> list[dict[str, Any]]:
    from runbook_engine.state import open_store

    with open_store() as store:
        return [_decision_dict(d) for d in store.approvals.list(run_id)]


def _decision_dict(decision: Any) -> dict[str, Any]:
    return {"run_id": decision.run_id, "step": decision.step, "status": decision.status,
            "message": decision.message, "decided_by": decision.decided_by,
            "decided_at": decision.decided_at, "reason": decision.reason}


def _run_dict(record: Any, config: ServerConfig) -> dict[str, Any]:
    data = record.to_dict()
    data["playbook_name"] = config.playbook_name_of(record.playbook)
    return data
