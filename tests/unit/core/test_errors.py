from __future__ import annotations

import pytest

from lendbridge.core import errors


def _all_error_classes() -> list[type[errors.LendBridgeError]]:
    found: list[type[errors.LendBridgeError]] = []
    stack: list[type[errors.LendBridgeError]] = [errors.LendBridgeError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_has_status_code_and_title(cls: type[errors.LendBridgeError]) -> None:
    assert 400 <= cls.status <= 599
    assert cls.code and cls.code == cls.code.lower()
    assert cls.title


def test_detail_param_and_code_override() -> None:
    err = errors.InvalidParameter("must be positive", param="amount", code="amount_invalid")
    assert (err.status, err.code, err.param, err.detail) == (
        422,
        "amount_invalid",
        "amount",
        "must be positive",
    )
    assert str(err) == "must be positive"


def test_default_detail_is_the_title() -> None:
    assert errors.NotFound().detail == "Not found"


def test_rate_limited_carries_retry_after() -> None:
    assert errors.RateLimited(retry_after=7).retry_after == 7


def test_illegal_transition_is_a_conflict() -> None:
    assert issubclass(errors.IllegalTransition, errors.Conflict)
    assert errors.IllegalTransition.status == 409
