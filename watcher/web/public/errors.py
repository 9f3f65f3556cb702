"""Error answers for the public side: a friendly page for browsers, JSON for the API, never a bare 500.

Views raise ``PageError`` with message keys (translated at render time) or plain ``HTTPException``;
validation errors of forms and query strings become 400/422 with the offending fields named.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from watcher.web.templating import render

log = logging.getLogger(__name__)

# status → (title key, text key)
DEFAULT_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("error.bad_request", "error.bad_request_text"),
    403: ("error.forbidden", "error.forbidden_text"),
    404: ("error.not_found", "error.not_found_text"),
    405: ("error.method", "error.method_text"),
    413: ("error.too_large", "error.too_large_text"),
    422: ("error.bad_request", "error.bad_request_text"),
    429: ("error.rate_limited", "error.rate_limited_text"),
    500: ("error.server", "error.server_text"),
}


class PageError(HTTPException):
    """An HTTP error whose page title and text are message keys (so they follow the interface language)."""

    def __init__(self, status_code: int, *, title_key: str, text_key: str) -> None:
        super().__init__(status_code=status_code, detail=text_key)
        self.title_key = title_key
        self.text_key = text_key


def wants_json(request: Request) -> bool:
    """API paths and clients that ask only for JSON get JSON errors."""
    path = request.url.path
    if path.startswith(("/api/", "/openapi")) or path == "/api":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _keys(status: int) -> tuple[str, str]:
    return DEFAULT_MESSAGES.get(status) or DEFAULT_MESSAGES[500 if status >= 500 else 400]


def error_response(
    request: Request, status: int, *, title_key: str, text_key: str, details: list[str] | None = None
) -> Response:
    """Render the error page (or JSON) for ``status``."""
    if wants_json(request):
        from watcher.web.i18n import translate

        body: dict[str, object] = {"detail": translate("en", text_key)}
        if details:
            body["errors"] = details
        return JSONResponse(body, status_code=status)
    from watcher.web.templating import base_context

    t = base_context(request)["t"]
    return render(
        request, "error.html", status_code=status, title=t(title_key), message=t(text_key), details=details
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = getattr(exc, "headers", None)
    if isinstance(exc, PageError):
        response = error_response(request, exc.status_code, title_key=exc.title_key, text_key=exc.text_key)
    elif wants_json(request) and isinstance(exc.detail, str) and exc.detail:
        response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    else:
        title_key, text_key = _keys(exc.status_code)
        response = error_response(request, exc.status_code, title_key=title_key, text_key=text_key)
    if headers:
        response.headers.update(headers)
    return response


def _describe(errors: list[dict[str, object]]) -> list[str]:
    lines = []
    for error in errors[:10]:
        loc = error.get("loc", ())
        location = ".".join(str(part) for part in list(loc)[1:]) if isinstance(loc, tuple | list) else ""
        lines.append(f"{location}: {error.get('msg', 'invalid')}" if location else str(error.get("msg")))
    return lines


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _describe(list(exc.errors()))
    if wants_json(request):
        return JSONResponse({"detail": "invalid request", "errors": details}, status_code=422)
    return error_response(
        request, 400, title_key="error.bad_request", text_key="error.bad_request_text", details=details
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        return error_response(request, 500, title_key="error.server", text_key="error.server_text")
    except Exception:  # the error page itself failed: plain text, still not a traceback
        return Response("Internal error", status_code=500, media_type="text/plain")


def install(app: FastAPI) -> None:
    """Register the handlers (app-wide; the admin console's pages inherit them)."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
