"""The portal's pages (FastAPI, server-rendered with Jinja2; no JavaScript).

Every page under ``/p/<partner>/`` checks that the signed-in account belongs to that partner (403
otherwise), and every object on it (an upload, an alert) is looked up with the partner in the
query (404 when it is another partner's). Every POST carries the session's CSRF token; the sign-in
form, before any session, a double-submit token (cookie and form field). Bodies over the upload
limit are cut off before they are parsed.
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from worklink.alerts.partner_report import RULE_ADVICE, RULE_TEXT, STATUS_TEXT, build_partner_report
from worklink.contracts import Contract, load_contracts
from worklink.portal import accounts, store, uploads
from worklink.portal.config import PortalConfig
from worklink.settings import Settings, load_settings

SESSION_COOKIE = "worklink_session"
SIGN_IN_COOKIE = "worklink_sign_in"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals.update(RULE_TEXT=RULE_TEXT, RULE_ADVICE=RULE_ADVICE, STATUS_TEXT=STATUS_TEXT)
SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before anything parses it
    (the declared Content-Length, and the bytes actually received for a chunked body)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _too_large(send, self.limit)
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)


async def _too_large(send, limit: int) -> None:
    body = f"The file is larger than the {limit // (1 << 20)} MB this page accepts.".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, config: PortalConfig | None = None,
               database_url: str | None = None, warm_up: bool = True) -> BodyLimitApp:
    """The portal as an ASGI app, wrapped in the body limit.

    One function on purpose: every route is a closure over the same settings, contracts, database
    URL and check lock, and the partner check sits next to each route where a reviewer sees it.
    """
    settings = settings or load_settings()
    config = config or PortalConfig.from_env()
    url = database_url or store.database_url()
    store.ensure_tables(url)
    contracts = load_contracts(settings.contracts_dir)
    by_partner: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_partner.setdefault(contract.partner.id, []).append(contract)
    check_lock = threading.Lock()  # one check at a time: they are CPU-bound, and GX is not shared safely

    app = FastAPI(title="worklink partner upload page", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.config = settings, config

    if warm_up:  # GX's first import takes seconds: pay it at start, not on a partner's first file
        threading.Thread(target=_warm_up, args=(contracts, settings, check_lock), daemon=True).start()

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def session_of(request: Request, conn) -> accounts.Session | None:
        return accounts.find_session(conn, request.cookies.get(SESSION_COOKIE), config)

    def partner_session(request: Request, conn, partner_id: str) -> accounts.Session:
        session = session_of(request, conn)
        if session is None:
            raise HTTPException(401 if request.method == "POST" else 303, headers={"location": "/sign-in"})
        if not hmac.compare_digest(session.partner_id, partner_id):
            raise HTTPException(403, "This page belongs to another organisation.")
        return session

    def same_origin(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
            raise HTTPException(403, "The form was sent from another site.")

    def require_csrf(request: Request, expected: str | None, given: object) -> None:
        same_origin(request)
        if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
            raise HTTPException(403, "The form has expired or did not come from this page: reload it and try again.")

    def base_context(session: accounts.Session) -> dict:
        own = by_partner.get(session.partner_id, [])
        return {"session": session, "partner_name": own[0].partner.name if own else session.partner_id,
                "feeds": own, "contact": settings.platform_contact}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303:
            return RedirectResponse(exc.headers["location"], status_code=303)
        return page(request, "error.html", exc.status_code, message=exc.detail, code=exc.status_code)

    @app.get("/portal.css")
    def stylesheet() -> Response:
        css = Path(__file__).with_name("templates").joinpath("portal.css").read_text()
        return PlainTextResponse(css, media_type="text/css", headers={"cache-control": "max-age=3600"})

    @app.get("/")
    def home(request: Request):
        with store.connect(url) as conn:
            session = session_of(request, conn)
        return RedirectResponse(f"/p/{session.partner_id}/" if session else "/sign-in", status_code=303)

    @app.get("/sign-in")
    def sign_in_form(request: Request, message: str | None = None):
        token = secrets.token_urlsafe(32)
        response = page(request, "sign_in.html", csrf=token, message=message)
        _set_cookie(response, SIGN_IN_COOKIE, token, config, max_age=3600)
        return response

    @app.post("/sign-in")
    async def sign_in(request: Request):
        form = await request.form()
        require_csrf(request, request.cookies.get(SIGN_IN_COOKIE), form.get("csrf"))
        username = str(form.get("username") or "").strip().lower()[:64]
        password = str(form.get("password") or "")
        client = request.client.host if request.client else "unknown"
        with store.connect(url) as conn:
            if accounts.sign_in_refused(conn, username, client, config):
                return page(request, "sign_in.html", 429, csrf=request.cookies.get(SIGN_IN_COOKIE),
                            message=f"Too many failed sign-ins: try again in {config.sign_in_window_minutes} "
                                    "minutes, or ask the data team to reset your password.")
            partner_id = accounts.authenticate(conn, username, password, client)
            if partner_id is None:
                conn.commit()
                return page(request, "sign_in.html", 401, csrf=request.cookies.get(SIGN_IN_COOKIE),
                            message="The account name or password is not right.")
            token = accounts.open_session(conn, username, partner_id)
        response = RedirectResponse(f"/p/{partner_id}/", status_code=303)
        _set_cookie(response, SESSION_COOKIE, token, config)
        response.delete_cookie(SIGN_IN_COOKIE, path="/")
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request):
        form = await request.form()
        with store.connect(url) as conn:
            session = session_of(request, conn)
            require_csrf(request, session.csrf_token if session else None, form.get("csrf"))
            accounts.close_session(conn, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/p/{partner_id}/")
    def dashboard(request: Request, partner_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            recent = conn.execute(
                """select upload_id, file_name, feed, verdict, checked_at, submitted_at from portal.uploads
                    where partner_id = %s order by checked_at desc limit 10""", (partner_id,)).fetchall()
        return page(request, "dashboard.html", recent=recent, max_mb=config.max_upload_bytes // (1 << 20),
                    **base_context(session))

    @app.post("/p/{partner_id}/uploads")
    async def upload(request: Request, partner_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
        form = await request.form(max_files=1, max_fields=5)
        require_csrf(request, session.csrf_token, form.get("csrf"))
        dropped = form.get("file")
        if not isinstance(dropped, UploadFile):
            raise HTTPException(400, "Choose a file to check.")
        own = by_partner.get(partner_id, [])
        feed = str(form.get("feed") or "") or None
        if feed is not None and feed not in {c.feed for c in own}:
            raise HTTPException(400, "Choose one of your feeds.")
        try:
            name = uploads.safe_file_name(dropped.filename)
            data = await dropped.read(config.max_upload_bytes + 1)
            if len(data) > config.max_upload_bytes:
                raise uploads.UploadRefused("file_too_large", "The file is larger than this page accepts.", 413)
            uploads.check_content(name, data, dropped.content_type, config)
        except uploads.UploadRefused as refused:
            return page(request, "dashboard.html", refused.status, refused=refused, recent=[],
                        max_mb=config.max_upload_bytes // (1 << 20), **base_context(session))
        from worklink.ingest.precheck import contract_for_name

        contract = contract_for_name(Path(name), own, partner_id, feed)
        if contract is None:
            expected = ", ".join(sorted(c.file.pattern for c in own))
            refused = uploads.UploadRefused("file_name_mismatch", f"{name} matches none of your feeds by its name; "
                                            f"name it like one of: {expected} (or choose the feed).")
            return page(request, "dashboard.html", 400, refused=refused, recent=[],
                        max_mb=config.max_upload_bytes // (1 << 20), **base_context(session))
        uploads.prune_staging(settings.state_dir, config.staged_hours)
        staged = uploads.stage(settings.state_dir, partner_id, name, data)
        report = await _run_check(staged.path, contract, settings, check_lock)
        with store.connect(url) as conn:
            conn.execute(
                """insert into portal.uploads (upload_id, partner_id, username, feed, file_name, sha256, size_bytes,
                                               verdict, report) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (staged.upload_id, partner_id, session.username, contract.feed, name, staged.sha256, staged.size,
                 report.verdict, _json(report.to_dict())))
        if report.rejected:  # nothing to submit: keep no copy of the partner's data
            uploads.discard_staged(settings.state_dir, partner_id, staged.upload_id)
        return RedirectResponse(f"/p/{partner_id}/uploads/{staged.upload_id}", status_code=303)

    def own_upload(conn, partner_id: str, upload_id: str) -> dict:
        row = conn.execute("select * from portal.uploads where upload_id = %s and partner_id = %s",
                           (upload_id, partner_id)).fetchone()
        if row is None:
            raise HTTPException(404, "No such upload among your organisation's.")
        return row

    @app.get("/p/{partner_id}/uploads/{upload_id}")
    def result(request: Request, partner_id: str, upload_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            row = own_upload(conn, partner_id, upload_id)
        return page(request, "result.html", upload=row, report=row["report"], **base_context(session))

    @app.post("/p/{partner_id}/uploads/{upload_id}/submit")
    async def submit(request: Request, partner_id: str, upload_id: str):
        form = await request.form()
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            require_csrf(request, session.csrf_token, form.get("csrf"))
            row = conn.execute("select * from portal.uploads where upload_id = %s and partner_id = %s for update",
                               (upload_id, partner_id)).fetchone()
            if row is None:
                raise HTTPException(404, "No such upload among your organisation's.")
            if row["submitted_at"] is not None:
                return RedirectResponse(f"/p/{partner_id}/uploads/{upload_id}", status_code=303)
            if row["verdict"] == "rejected":
                raise HTTPException(409, "This file would be rejected: correct it and upload it again.")
            contract = next((c for c in by_partner.get(partner_id, []) if c.feed == row["feed"]), None)
            source = uploads.staged_path(settings.state_dir, partner_id, upload_id, row["file_name"])
            if contract is None or not source.is_file():
                raise HTTPException(410, "This upload has expired: upload the file again.")
            target = uploads.place_in_landing(source, settings.landing_dir, contract, row["sha256"])
            conn.execute("update portal.uploads set submitted_at = now(), landing_path = %s where upload_id = %s",
                         (str(target), upload_id))
        uploads.discard_staged(settings.state_dir, partner_id, upload_id)
        return RedirectResponse(f"/p/{partner_id}/uploads/{upload_id}", status_code=303)

    @app.get("/p/{partner_id}/history")
    def history(request: Request, partner_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            rows = store.submission_history(conn, partner_id)
        return page(request, "history.html", **rows, **base_context(session))

    @app.get("/p/{partner_id}/scorecard")
    def scorecard(request: Request, partner_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            rows = store.scorecard(conn, partner_id)
        return page(request, "scorecard.html", rows=rows, **base_context(session))

    @app.get("/p/{partner_id}/alerts")
    def alert_list(request: Request, partner_id: str):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            rows = store.alerts(conn, partner_id)
        return page(request, "alerts.html", rows=rows, **base_context(session))

    @app.get("/p/{partner_id}/alerts/{alert_id}")
    def alert(request: Request, partner_id: str, alert_id: int):
        with store.connect(url) as conn:
            session = partner_session(request, conn, partner_id)
            file_ids = store.alert_files(conn, partner_id, alert_id)
            if file_ids is None:
                raise HTTPException(404, "No such alert among your organisation's.")
            context = base_context(session)
        with psycopg.connect(url) as plain:  # the alert's own builder reads rows as tuples
            report = build_partner_report(plain, (partner_id, context["partner_name"]), file_ids, contracts)
        return page(request, "alert.html", report=report, alert_id=alert_id, **context)

    @app.get("/p/{partner_id}/templates/{feed}")
    def template(request: Request, partner_id: str, feed: str):
        with store.connect(url) as conn:
            partner_session(request, conn, partner_id)
        contract = next((c for c in by_partner.get(partner_id, []) if c.feed == feed), None)
        if contract is None:
            raise HTTPException(404, "No such feed among your organisation's.")
        from worklink.feed_templates import default_period, template_name, write_template

        period = default_period(contract)
        name = template_name(contract, period)
        with tempfile.TemporaryDirectory() as tmp:
            data = write_template(contract, Path(tmp) / f"template.{contract.file.format}", period).read_bytes()
        media = ("text/csv" if contract.file.format == "csv"
                 else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})

    return BodyLimitApp(app, config.max_upload_bytes + (64 << 10))


class BodyLimitApp(BodyLimit):
    """The app wrapped in the body limit, keeping ``state`` reachable for the tests and the server."""

    @property
    def state(self):
        return self.app.state


def _set_cookie(response: Response, name: str, value: str, config: PortalConfig, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age or config.session_max_hours * 3600, path="/", httponly=True,
                        samesite="strict", secure=config.secure_cookies)


async def _run_check(path: Path, contract: Contract, settings: Settings, lock: threading.Lock):
    from starlette.concurrency import run_in_threadpool

    from worklink.ingest.precheck import check_file

    def run():
        with lock:
            return check_file(path, contract, settings.expectations_dir)

    return await run_in_threadpool(run)


def _json(value: dict):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _warm_up(contracts: list[Contract], settings: Settings, lock: threading.Lock) -> None:
    """Check one template file, so GX and pandas are imported before the first partner's file."""
    from worklink.feed_templates import write_template
    from worklink.ingest.precheck import check_file

    contract = next((c for c in contracts if c.file.format == "csv"), None)
    if contract is None:
        return
    period = f"{datetime.now(UTC).year - 1}-06"
    try:
        with tempfile.TemporaryDirectory() as tmp, lock:
            path = write_template(contract, Path(tmp) / contract.file.pattern.replace("*", period, 1), period)
            check_file(path, contract, settings.expectations_dir)
    except Exception:  # noqa: BLE001 - a warm-up only: the first real check pays instead
        pass
