"""Schemas shared by every resource: object basics, list arguments and list envelopes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from lendbridge.core.clock import to_unix
from lendbridge.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest


class StrictSchema(ma.Schema):
    """Unknown fields are an error naming the field, not silently dropped."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class UnixTime(fields.Field):
    """Timestamps on the wire are integer unix seconds (UTC)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> int | None:
        if value is None:
            return None
        return to_unix(value) if isinstance(value, datetime) else int(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("must be an integer number of unix seconds")
        if not 0 <= value <= 32503680000:
            raise ma.ValidationError("must be between 0 and year 3000 in unix seconds")
        return value


class FenAmount(fields.Integer):
    """Money in integer fen. Refuses floats and strings instead of coercing them."""

    def __init__(self, *, minimum: int = 0, maximum: int = 10**13, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=minimum, max=maximum))
        kwargs.setdefault("metadata", {}).setdefault("description", "Amount in fen (1 yuan = 100 fen)")
        super().__init__(strict=True, **kwargs)


class ObjectSchema(ma.Schema):
    """`object`, `id`, `created`, `livemode` on every API object."""

    class Meta:
        ordered = True

    object = fields.String(required=True, dump_only=True)
    id = fields.String(required=True, dump_only=True)
    created = UnixTime(required=True, dump_only=True)
    livemode = fields.Boolean(required=True, dump_only=True)


class ListArgsSchema(StrictSchema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT), strict=False
    )
    starting_after = fields.String(validate=validate.Length(max=60))
    ending_before = fields.String(validate=validate.Length(max=60))

    @ma.validates_schema
    def _one_cursor(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("starting_after") and data.get("ending_before"):
            raise ma.ValidationError("use starting_after or ending_before, not both", "ending_before")


def page_request(args: dict[str, Any]) -> PageRequest:
    return PageRequest(
        limit=args.get("limit", DEFAULT_LIMIT),
        starting_after=args.get("starting_after"),
        ending_before=args.get("ending_before"),
    )


_list_schemas: dict[str, type[ma.Schema]] = {}


def list_of(item: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope `{object: "list", data, has_more, url}` for an item schema."""
    name = item.__name__.removesuffix("Schema") + "ListSchema"
    if name not in _list_schemas:
        _list_schemas[name] = type(
            name,
            (ma.Schema,),
            {
                "object": fields.Constant("list", dump_only=True),
                "data": fields.List(fields.Nested(item), required=True),
                "has_more": fields.Boolean(required=True),
                "url": fields.String(required=True),
                "Meta": type("Meta", (), {"ordered": True}),
            },
        )
    return _list_schemas[name]


def list_body(page: Page[Any], url: str) -> dict[str, Any]:
    return {"object": "list", "data": page.data, "has_more": page.has_more, "url": url}
