"""Simulator controls for test mode (`/v1/sandbox/...`).

They act on the sandbox's simulators (payment channels, custody bank, credit bureau) and
on the caller's own test-mode objects. The simulators are shared by every test-mode
tenant of one sandbox server, so a fault injected on a channel is felt by all of them,
like a real outage would be; faults expire on their own. That is why these global
controls exist only where the server allows them (`allows_global_simulator_controls`:
by default a developer's own embedded server); on a shared sandbox, magic values script
failures per request instead.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from lendbridge.core.errors import InvalidParameter, NotFound, PermissionDenied
from lendbridge.core.ids import new_id
from lendbridge.events.catalogue import EVENT_TYPES
from lendbridge.events.outbox import emit, envelope
from lendbridge.uow import UnitOfWork

CHANNEL_FAULTS = ("unavailable", "busy", "timeout", "down")


def require_test_mode(uow: UnitOfWork) -> None:
    if uow.ctx.livemode:
        raise PermissionDenied(
            "Simulator controls exist only in test mode; use a sk_test_ key", code="test_mode_only"
        )


def require_global_controls(uow: UnitOfWork) -> None:
    """Test mode, on a server whose simulators are the caller's alone to break."""
    require_test_mode(uow)
    if not current_app.extensions["lendbridge"].settings.allows_global_simulator_controls:
        raise PermissionDenied(
            "This sandbox is shared: faults that every partner would feel cannot be injected here. "
            "Use the magic values (docs/sandbox.md) to script failures per request, or run your own "
            "server with `make sandbox`",
            code="simulator_controls_shared",
        )


def _simulators() -> Any:
    from lendbridge.payments.runtime import runtime

    sims = runtime(current_app._get_current_object()).simulators  # type: ignore[attr-defined]
    if sims is None:
        raise PermissionDenied(
            "This server talks to external payment simulators; control them on their own hosts",
            code="simulators_external",
        )
    return sims


def _channel(name: str) -> Any:
    sims = _simulators()
    if name not in sims.channels:
        raise NotFound(f"No such payment channel: '{name}'", param="channel")
    return sims.channels[name]


def channel_statuses(uow: UnitOfWork) -> list[dict[str, Any]]:
    require_test_mode(uow)
    return [
        {"object": "simulated_channel", "name": name, **ch.status()}
        for name, ch in _simulators().channels.items()
    ]


def fail_channel(uow: UnitOfWork, name: str, seconds: float, mode: str) -> dict[str, Any]:
    require_global_controls(uow)
    if mode not in CHANNEL_FAULTS:
        raise InvalidParameter(f"mode must be one of {', '.join(CHANNEL_FAULTS)}", param="mode")
    channel = _channel(name)
    channel.fail_for(seconds, mode)
    return {"object": "simulated_channel", "name": name, **channel.status()}


def heal_channel(uow: UnitOfWork, name: str) -> dict[str, Any]:
    require_global_controls(uow)
    channel = _channel(name)
    channel.heal()
    channel.restore()
    return {"object": "simulated_channel", "name": name, **channel.status()}


def ambiguous_next(uow: UnitOfWork, name: str, count: int) -> dict[str, Any]:
    require_global_controls(uow)
    channel = _channel(name)
    channel.ambiguous_next(count)
    return {"object": "simulated_channel", "name": name, **channel.status()}


def set_channel_latency(uow: UnitOfWork, name: str, ms: float) -> dict[str, Any]:
    require_global_controls(uow)
    channel = _channel(name)
    channel.set_latency(ms)
    return {"object": "simulated_channel", "name": name, **channel.status()}


def set_card_balance(uow: UnitOfWork, card: str, amount: int | None) -> dict[str, Any]:
    """A test card's balance for auto-debits (None: unlimited again)."""
    from lendbridge.identity.validators import validate_bank_card

    require_global_controls(uow)
    number = validate_bank_card(card).number
    _simulators().set_card_balance(number, amount)
    return {"object": "simulated_card", "last4": number[-4:], "balance": amount}


def configure_bureau(
    uow: UnitOfWork, *, latency_ms: tuple[float, float] | None, outage: bool | None, error_rate: float | None
) -> dict[str, Any]:
    from lendbridge.risk.runtime import runtime

    require_global_controls(uow)
    backend = runtime().backend
    if latency_ms is not None:
        lo, hi = latency_ms
        if not 0 <= lo <= hi <= 10_000:
            raise InvalidParameter(
                "latency_ms must be [min, max] with 0 <= min <= max <= 10000", param="latency_ms"
            )
        backend.latency_ms = (lo, hi)
    if outage is not None:
        backend.outage = outage
    if error_rate is not None:
        backend.error_rate = error_rate
    return {
        "object": "simulated_bureau",
        "latency_ms": list(backend.latency_ms),
        "outage": backend.outage,
        "error_rate": backend.error_rate,
    }


def settle_review(uow: UnitOfWork, application_id: str, decision: str, note: str | None) -> dict[str, Any]:
    from lendbridge.risk.runtime import runtime
    from lendbridge.risk.services import settle_review_in_test_mode

    require_test_mode(uow)
    outcome = {"approve": "approved", "decline": "declined"}.get(decision, decision)
    return settle_review_in_test_mode(uow, runtime(), application_id, outcome, note)


def settle_payment(uow: UnitOfWork, payment_id: str) -> dict[str, Any]:
    """Ask the channel again for a payment still processing or unknown, now."""
    from lendbridge.payments import services as payments
    from lendbridge.payments.models import PaymentInstruction
    from lendbridge.payments.runtime import runtime
    from lendbridge.payments.schemas import payment_body

    require_test_mode(uow)
    payment = uow.get(PaymentInstruction, payment_id)
    rt = runtime(current_app._get_current_object())  # type: ignore[attr-defined]
    settled = payments.resolve_payment(uow, payment.id, action="requery", note="sandbox settle", rt=rt)
    return dict(payment_body(settled))


def trigger_event(uow: UnitOfWork, event_type: str) -> dict[str, Any]:
    """Emit any catalogued event type with a synthetic object, for testing a receiver."""
    require_test_mode(uow)
    if event_type not in EVENT_TYPES:
        raise InvalidParameter(
            "not an event type of the catalogue (see GET /docs and docs/events.md)", param="type"
        )
    obj = {
        "object": "test_helper",
        "id": new_id("evt").replace("evt_", "th_"),
        "created": int(uow.now().timestamp()),
        "livemode": False,
        "event_type": event_type,
        "description": EVENT_TYPES[event_type],
    }
    return envelope(emit(uow, event_type, obj))
