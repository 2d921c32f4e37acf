from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from lendbridge.events.catalogue import EVENT_TYPES
from lendbridge.http.schemas import ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.webhooks import patterns


class EventRequestRefSchema(ma.Schema):
    id = fields.String(allow_none=True, metadata={"description": "The API request that caused the event"})


class EventSchema(ObjectSchema):
    type = fields.String(metadata={"description": "What happened, from the event catalogue"})
    api_version = fields.String()
    data = fields.Dict(metadata={"description": "`object`: the API object as it was when the event happened"})
    request = fields.Nested(EventRequestRefSchema)


def _known_pattern(value: str) -> None:
    try:
        patterns.validate(value, EVENT_TYPES)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


class QueryUnixTime(UnixTime):
    """Unix seconds in a query string, where every value arrives as text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.isdigit() and len(value) <= 12:
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class EventListArgsSchema(ListArgsSchema):
    type = fields.String(
        validate=[validate.Length(min=1, max=60), _known_pattern],
        metadata={"description": "An event type (`loan.disbursed`) or a family (`loan.*`)"},
    )
    created_gte = QueryUnixTime(data_key="created[gte]", metadata={"description": "Created at or after"})
    created_gt = QueryUnixTime(data_key="created[gt]", metadata={"description": "Created after"})
    created_lte = QueryUnixTime(data_key="created[lte]", metadata={"description": "Created at or before"})
    created_lt = QueryUnixTime(data_key="created[lt]", metadata={"description": "Created before"})


class EventResendSchema(StrictSchema):
    endpoint = fields.String(
        validate=validate.Length(min=1, max=60),
        metadata={
            "description": "Send to this endpoint only (default: every enabled endpoint the event matches)"
        },
    )
