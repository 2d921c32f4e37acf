"""A stub transport for SDK tests: records every request and answers from a queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lendbridge_sdk as lb

Answer = lb.HTTPResponse | Exception | Callable[["Sent"], lb.HTTPResponse]


@dataclass
class Sent:
    """One request the SDK handed to the transport."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: float

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs((self.body or b"").decode()).items()}


def ok(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> lb.HTTPResponse:
    """A JSON success answer carrying an X-Request-Id."""
    return lb.HTTPResponse(
        status=status,
        headers={"Content-Type": "application/json", "X-Request-Id": "req_ok", **(headers or {})},
        body=json.dumps(body).encode(),
    )


def problem(
    status: int,
    code: str | None = None,
    *,
    detail: str = "something went wrong",
    param: str | None = None,
    request_id: str = "req_123",
    headers: Mapping[str, str] | None = None,
) -> lb.HTTPResponse:
    """An application/problem+json error answer as the server sends it."""
    body: dict[str, Any] = {
        "type": f"https://docs.lendbridge.example/errors/{code}",
        "title": "Error",
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    if param is not None:
        body["param"] = param
    return lb.HTTPResponse(
        status=status,
        headers={"Content-Type": "application/problem+json", "X-Request-Id": request_id, **(headers or {})},
        body=json.dumps(body).encode(),
    )


def obj(object_name: str, id: str = "obj_1", **fields: Any) -> dict[str, Any]:
    return {"id": id, "object": object_name, "created": 1_767_225_600, "livemode": False, **fields}


class FakeTransport:
    """Answers from a queue (a response, an exception to raise, or a function of the
    request); once the queue is empty every request gets ``default``."""

    def __init__(self, *answers: Answer, default: Answer | None = None) -> None:
        self.answers: list[Answer] = list(answers)
        self.default: Answer = default if default is not None else ok(obj("thing"))
        self.sent: list[Sent] = []

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> lb.HTTPResponse:
        request = Sent(method, url, dict(headers), body, timeout)
        self.sent.append(request)
        answer = self.answers.pop(0) if self.answers else self.default
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def make_client(
    transport: FakeTransport, *, jitter: float = 1.0, api_key: str | None = "sk_test_abc", **options: Any
) -> tuple[lb.Client, list[float]]:
    """A client on the fake transport with recorded sleeps and a fixed jitter factor."""
    sleeps: list[float] = []
    client = lb.Client(api_key, transport=transport, sleep=sleeps.append, **options)
    client._requestor.jitter = lambda: jitter
    return client, sleeps
