"""Typed results: ``LendBridgeObject``, one small subclass per resource, and ``ListObject``.

Every API object is a read-only snapshot of the JSON the server returned. Main fields are
typed properties (``loan.principal: int``); every other field is still reachable as
``obj["field"]``, ``obj.get("field")`` or plain attribute access. Money is integer fen and
rates are decimal strings, exactly as sent: nothing is converted to float.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

from lendbridge_sdk._http import ResponseInfo

T = TypeVar("T")
ObjT = TypeVar("ObjT", bound="LendBridgeObject")

_MISSING: Any = object()
_REGISTRY: dict[str, type[LendBridgeObject]] = {}


class _Field(Generic[T]):
    """A typed, read-only view of one JSON field. Without a default a missing field raises
    ``AttributeError``; ``of=`` builds nested objects (or lists of them) as that class."""

    def __init__(self, default: T = _MISSING, *, of: type[LendBridgeObject] | None = None) -> None:
        self.default = default
        self.of = of
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Field[T]: ...

    @overload
    def __get__(self, obj: LendBridgeObject, owner: type | None = None) -> T: ...

    def __get__(self, obj: LendBridgeObject | None, owner: type | None = None) -> T | _Field[T]:
        if obj is None:
            return self
        values = obj.__dict__["_values"]
        if self.name not in values:
            if self.default is _MISSING:
                raise AttributeError(f"{type(obj).__name__} has no field {self.name!r}")
            return copy.copy(self.default)
        value = values[self.name]
        built: Any
        if self.of is not None and isinstance(value, list):
            built = [construct_object(v, self.of) if isinstance(v, dict) else v for v in value]
        elif self.of is not None and isinstance(value, dict):
            built = construct_object(value, self.of)
        else:
            built = _wrap(value)
        return cast(T, built)

    def __set__(self, obj: LendBridgeObject, value: object) -> None:
        raise AttributeError(f"{self.name} is read-only: objects are snapshots of an API response")


class LendBridgeObject(Mapping[str, Any]):
    """One API object. Typed properties for the fields every object has; any other field via
    ``obj["name"]``, ``obj.get("name")`` or ``obj.name``. ``to_dict()`` returns a deep copy of
    the JSON; ``last_response`` the status, headers, request id and whether the response was
    an idempotent replay."""

    OBJECT_NAME: ClassVar[str | None] = None

    id = _Field[str]()
    object = _Field[str]()
    created = _Field[int]()
    livemode = _Field[bool]()
    deleted = _Field[bool](False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.OBJECT_NAME:
            _REGISTRY[cls.OBJECT_NAME] = cls

    def __init__(self, values: Mapping[str, Any] | None = None, *, last_response: ResponseInfo | None = None):
        self.__dict__["_values"] = dict(values or {})
        self.__dict__["_last_response"] = last_response

    @property
    def last_response(self) -> ResponseInfo | None:
        """Facts about the HTTP response this object came from (``None`` for nested objects)."""
        info: ResponseInfo | None = self.__dict__["_last_response"]
        return info

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if name.startswith("_") or values is None:
            raise AttributeError(name)
        if name in values:
            return _wrap(values[name])
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{name} is read-only: objects are snapshots of an API response")

    def __getitem__(self, key: str) -> Any:
        return _wrap(self.__dict__["_values"][key])

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__["_values"])

    def __len__(self) -> int:
        return len(self.__dict__["_values"])

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the object's JSON, nested objects as plain dicts."""
        return copy.deepcopy(self.__dict__["_values"])

    def __repr__(self) -> str:
        values = self.__dict__["_values"]
        ident = f" id={values['id']!r}" if "id" in values else ""
        return f"<{type(self).__name__}{ident}> " + json.dumps(values, ensure_ascii=False, sort_keys=True)


def construct_object(
    values: Mapping[str, Any], expected: type[ObjT], *, last_response: ResponseInfo | None = None
) -> ObjT:
    """Build the typed class for ``values["object"]`` when it is a subclass of ``expected``,
    else ``expected`` itself."""
    cls = _REGISTRY.get(str(values.get("object")))
    chosen: type[ObjT] = cls if cls is not None and issubclass(cls, expected) else expected
    return chosen(values, last_response=last_response)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("object")
        if kind == "list" and isinstance(value.get("data"), list):
            return ListObject(value, LendBridgeObject)
        if isinstance(kind, str):
            return construct_object(value, LendBridgeObject)
        return value
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


class ListObject(Generic[ObjT]):
    """One page of a list: ``data`` (newest first), ``has_more`` and ``url``.

    Iterating yields this page's items; ``auto_paging_iter()`` yields every item of every page,
    fetching the next page (``starting_after`` = the last id) as it goes.
    """

    object = "list"

    def __init__(
        self,
        values: Mapping[str, Any],
        item_class: type[ObjT],
        *,
        fetch: Callable[[dict[str, Any]], ListObject[ObjT]] | None = None,
        params: Mapping[str, Any] | None = None,
        last_response: ResponseInfo | None = None,
    ) -> None:
        self._values = dict(values)
        self._item_class = item_class
        self._fetch = fetch
        self._params = {k: v for k, v in (params or {}).items() if v is not None}
        self.last_response = last_response
        raw = values.get("data")
        self.data: list[ObjT] = [
            construct_object(item, item_class) for item in (raw if isinstance(raw, list) else [])
        ]

    @property
    def has_more(self) -> bool:
        return bool(self._values.get("has_more", False))

    @property
    def url(self) -> str | None:
        url = self._values.get("url")
        return url if isinstance(url, str) else None

    @property
    def is_empty(self) -> bool:
        return not self.data

    def __iter__(self) -> Iterator[ObjT]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> ObjT:
        return self.data[index]

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the page's JSON."""
        return copy.deepcopy(self._values)

    def __repr__(self) -> str:
        return f"<ListObject[{self._item_class.__name__}] {len(self.data)} items, has_more={self.has_more}>"

    def next_page(self) -> ListObject[ObjT]:
        """The page after this one (older objects); empty when there is none."""
        if not self.has_more or not self.data or self._fetch is None:
            return self._empty()
        params = {k: v for k, v in self._params.items() if k != "ending_before"}
        params["starting_after"] = self.data[-1].id
        return self._fetch(params)

    def previous_page(self) -> ListObject[ObjT]:
        """The page before this one (newer objects), for lists fetched with ``ending_before``."""
        if not self.has_more or not self.data or self._fetch is None:
            return self._empty()
        params = {k: v for k, v in self._params.items() if k != "starting_after"}
        params["ending_before"] = self.data[0].id
        return self._fetch(params)

    def auto_paging_iter(self) -> Iterator[ObjT]:
        """Every item of this page and the ones after it, one request per page.

        For a list fetched with ``ending_before`` it walks towards newer objects instead,
        yielding each page from oldest to newest.
        """
        backwards = "ending_before" in self._params and "starting_after" not in self._params
        page: ListObject[ObjT] = self
        while True:
            yield from (reversed(page.data) if backwards else page.data)
            if page.is_empty:
                return
            page = page.previous_page() if backwards else page.next_page()
            if page.is_empty:
                return

    def _empty(self) -> ListObject[ObjT]:
        return ListObject(
            {"object": "list", "data": [], "has_more": False, "url": self.url}, self._item_class
        )


class Account(LendBridgeObject):
    """The partner account the credentials belong to (``GET /v1/account``)."""

    OBJECT_NAME = "account"
    name = _Field[str | None](None)


class Borrower(LendBridgeObject):
    """A person or business that borrows; personal data comes back masked."""

    OBJECT_NAME = "borrower"
    type = _Field[str]()
    name = _Field[str | None](None)
    phone = _Field[str | None](None)
    status = _Field[str | None](None)


class Offer(LendBridgeObject):
    """One priced offer inside a decision: amounts in fen, rates as decimal strings."""

    OBJECT_NAME = "offer"
    amount = _Field[int]()
    term = _Field[int | None](None)
    method = _Field[str | None](None)
    rate = _Field[str | None](None)
    apr = _Field[str | None](None)
    product = _Field[str | None](None)


class Decision(LendBridgeObject):
    """The outcome of an application: ``approved | review | declined``, reason codes, offers."""

    OBJECT_NAME = "decision"
    outcome = _Field[str | None](None)
    reason_codes = _Field[list[str]]([])
    offers = _Field[list[Offer]]([], of=Offer)


class Application(LendBridgeObject):
    """A loan application and, once decided, its decision and offers."""

    OBJECT_NAME = "application"
    borrower = _Field[str | None](None)
    status = _Field[str]()
    amount = _Field[int | None](None)
    term = _Field[int | None](None)
    decision = _Field[str | None](None)
    reason_codes = _Field[list[str]]([])
    offers = _Field[list[Offer]]([], of=Offer)


class Loan(LendBridgeObject):
    """A booked loan: principal in fen, rates and the disclosed APR as decimal strings."""

    OBJECT_NAME = "loan"
    borrower = _Field[str | None](None)
    application = _Field[str | None](None)
    product = _Field[str | None](None)
    status = _Field[str]()
    principal = _Field[int]()
    currency = _Field[str | None](None)
    term = _Field[int | None](None)
    method = _Field[str | None](None)
    rate = _Field[str | None](None)
    apr = _Field[str | None](None)


class Repayment(LendBridgeObject):
    """A repayment or prepayment on a loan, amount in fen."""

    OBJECT_NAME = "repayment"
    loan = _Field[str | None](None)
    amount = _Field[int]()
    status = _Field[str | None](None)


class Product(LendBridgeObject):
    """A loan product an institution publishes."""

    OBJECT_NAME = "product"
    name = _Field[str | None](None)
    status = _Field[str | None](None)


class CreditLine(LendBridgeObject):
    """A revolving credit line; limits in fen."""

    OBJECT_NAME = "credit_line"
    borrower = _Field[str | None](None)
    status = _Field[str | None](None)
    limit = _Field[int | None](None)
    available = _Field[int | None](None)


class Draw(LendBridgeObject):
    """A draw on a credit line, amount in fen."""

    OBJECT_NAME = "draw"
    credit_line = _Field[str | None](None)
    amount = _Field[int]()
    status = _Field[str | None](None)


class WebhookEndpoint(LendBridgeObject):
    """Where events are delivered. ``secret`` is present only on create and rotate."""

    OBJECT_NAME = "webhook_endpoint"
    url = _Field[str]()
    enabled_events = _Field[list[str]]([])
    status = _Field[str | None](None)
    secret = _Field[str | None](None)


class DeliveryAttempt(LendBridgeObject):
    """One attempt to deliver an event to a webhook endpoint."""

    OBJECT_NAME = "delivery_attempt"
    event = _Field[str | None](None)
    status = _Field[str | None](None)
    response_status = _Field[int | None](None)


class Event(LendBridgeObject):
    """An event, as listed by the API or delivered to a webhook endpoint. ``data_object``
    is the object it is about, typed (e.g. a ``Loan`` for ``loan.disbursed``)."""

    OBJECT_NAME = "event"
    type = _Field[str]()
    api_version = _Field[str | None](None)
    data = _Field[dict[str, Any]]()

    @property
    def data_object(self) -> LendBridgeObject:
        """``data["object"]`` as its typed class."""
        data = self.__dict__["_values"].get("data")
        inner = data.get("object") if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            raise AttributeError("event has no data.object")
        return construct_object(inner, LendBridgeObject)


class WidgetSession(LendBridgeObject):
    """A short-lived session for the embeddable widget; hand its ``client_secret`` (present
    only in the response that created it) to the page, never your secret key."""

    OBJECT_NAME = "widget_session"
    client_secret = _Field[str | None](None)
    expires_at = _Field[int | None](None)
    status = _Field[str | None](None)


class TestClock(LendBridgeObject):
    """A sandbox clock; advancing it runs what would happen by then (accrual, due dates)."""

    __test__ = False  # not a pytest test class despite the name
    OBJECT_NAME = "test_clock"
    frozen_time = _Field[int]()
    name = _Field[str | None](None)
    status = _Field[str | None](None)
