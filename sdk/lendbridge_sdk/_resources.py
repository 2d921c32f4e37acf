"""Resource services: ``client.loans``, ``client.borrowers`` and the rest.

Each method is one API call. Creating methods take the object's fields as keyword arguments
and an optional ``idempotency_key`` (one is generated when omitted, and reused on every
retry). List methods take filters and ``limit``/``starting_after``/``ending_before`` and
return a ``ListObject``; call ``auto_paging_iter()`` on it to walk every page.

Every method raises a ``LendBridgeError`` subclass on failure: ``NotFoundError`` for an
unknown id, ``InvalidRequestError`` for bad parameters, and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lendbridge_sdk._http import Requestor, path_segment
from lendbridge_sdk._objects import (
    Account,
    Application,
    Borrower,
    CreditLine,
    Decision,
    DeliveryAttempt,
    Draw,
    Event,
    LendBridgeObject,
    ListObject,
    Loan,
    ObjT,
    Product,
    Repayment,
    TestClock,
    WebhookEndpoint,
    WidgetSession,
    construct_object,
)


class _Service:
    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    def _call(
        self,
        cls: type[ObjT],
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> ObjT:
        values, info = self._requestor.request(
            method, path, params=params, body=body, idempotency_key=idempotency_key
        )
        return construct_object(values, cls, last_response=info)

    def _list(self, cls: type[ObjT], path: str, params: Mapping[str, Any]) -> ListObject[ObjT]:
        def fetch(page_params: dict[str, Any]) -> ListObject[ObjT]:
            values, info = self._requestor.request("GET", path, params=page_params)
            return ListObject(values, cls, fetch=fetch, params=page_params, last_response=info)

        return fetch(dict(params))


def _path(template: str, *ids: str) -> str:
    return template.format(*(path_segment(i) for i in ids))


class AccountService(_Service):
    def retrieve(self) -> Account:
        """The account the credentials belong to. Raises ``AuthenticationError`` for bad keys."""
        return self._call(Account, "GET", "/v1/account")


class BorrowerService(_Service):
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Borrower:
        """Create a borrower (``type``, ``name``, ``id_number``, ``phone``, ``bank_card``, ...);
        returns it with personal data masked. Raises ``InvalidRequestError`` naming the bad field."""
        return self._call(Borrower, "POST", "/v1/borrowers", body=params, idempotency_key=idempotency_key)

    def retrieve(self, id: str) -> Borrower:
        """One borrower. Raises ``NotFoundError``."""
        return self._call(Borrower, "GET", _path("/v1/borrowers/{}", id))

    def list(self, **filters: Any) -> ListObject[Borrower]:
        """Borrowers, newest first; filter with ``id_number=`` or ``phone=`` to look one up."""
        return self._list(Borrower, "/v1/borrowers", filters)

    def erase(self, id: str, *, idempotency_key: str | None = None) -> Borrower:
        """Erase a borrower's personal data (PIPL); the object stays with ``erased: true``."""
        return self._call(
            Borrower, "POST", _path("/v1/borrowers/{}/erase", id), body={}, idempotency_key=idempotency_key
        )

    def create_consent(
        self, id: str, *, kind: str, version: str, idempotency_key: str | None = None, **params: Any
    ) -> LendBridgeObject:
        """Record a consent the borrower gave (``credit_bureau_query``, ``data_processing``,
        ``alt_data``) for the text version shown (see ``GET /v1/consent_texts``)."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/borrowers/{}/consents", id),
            body={"kind": kind, "version": version, **params},
            idempotency_key=idempotency_key,
        )

    def list_consents(self, id: str, **filters: Any) -> ListObject[LendBridgeObject]:
        """The borrower's consents, newest first."""
        return self._list(LendBridgeObject, _path("/v1/borrowers/{}/consents", id), filters)

    def create_liveness_check(
        self, id: str, *, idempotency_key: str | None = None, **params: Any
    ) -> LendBridgeObject:
        """Start a liveness / face-match check (KYC); it finishes in the background."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/borrowers/{}/liveness_checks", id),
            body=params,
            idempotency_key=idempotency_key,
        )

    def retrieve_liveness_check(self, id: str, check_id: str) -> LendBridgeObject:
        """One liveness check (``status``: processing, passed, review, failed, error)."""
        return self._call(LendBridgeObject, "GET", _path("/v1/borrowers/{}/liveness_checks/{}", id, check_id))


class ApplicationService(_Service):
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Application:
        """Apply for a loan for a borrower; returns the application with its decision and offers."""
        return self._call(
            Application, "POST", "/v1/applications", body=params, idempotency_key=idempotency_key
        )

    def retrieve(self, id: str) -> Application:
        """One application. Raises ``NotFoundError``."""
        return self._call(Application, "GET", _path("/v1/applications/{}", id))

    def list(self, **filters: Any) -> ListObject[Application]:
        """Applications, newest first."""
        return self._list(Application, "/v1/applications", filters)

    def accept(
        self, id: str, *, offer_id: str, idempotency_key: str | None = None, **params: Any
    ) -> LendBridgeObject:
        """Accept one offer of an approved application; returns the server's answer typed by
        its ``object`` (the new ``Loan``, or the updated ``Application``). Raises
        ``InvalidRequestError`` (409 ``illegal_transition``) when the application cannot accept."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/applications/{}/accept", id),
            body={"offer_id": offer_id, **params},
            idempotency_key=idempotency_key,
        )

    def decision(self, id: str) -> Decision:
        """The application's decision: outcome, reason codes and offers."""
        return self._call(Decision, "GET", _path("/v1/applications/{}/decision", id))


class LoanService(_Service):
    def retrieve(self, id: str) -> Loan:
        """One loan. Raises ``NotFoundError``."""
        return self._call(Loan, "GET", _path("/v1/loans/{}", id))

    def disburse(self, id: str, *, idempotency_key: str | None = None) -> LendBridgeObject:
        """Pay out a signed loan (to the borrower, or to the merchant when the scenario says
        so); returns the payment instruction, which completes in the background."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/loans/{}/disburse", id),
            body={},
            idempotency_key=idempotency_key,
        )

    def debit_now(
        self, id: str, *, amount: int | None = None, idempotency_key: str | None = None
    ) -> LendBridgeObject:
        """Debit the borrower's card now under the loan's mandate (the borrower asked to pay);
        ``amount`` defaults to everything due by today. Returns the payment, which completes in
        the background (``repayment.succeeded`` / ``repayment.failed``)."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/loans/{}/debits", id),
            body={"amount": amount} if amount is not None else {},
            idempotency_key=idempotency_key,
        )

    def disbursement(self, id: str) -> LendBridgeObject:
        """The loan's payout with every channel attempt."""
        return self._call(LendBridgeObject, "GET", _path("/v1/loans/{}/disbursement", id))

    def create_mandate(
        self, id: str, *, idempotency_key: str | None = None, **params: Any
    ) -> LendBridgeObject:
        """Record the borrower's auto-debit authorisation for the loan's instalments."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/loans/{}/mandate", id),
            body=params,
            idempotency_key=idempotency_key,
        )

    def list(self, **filters: Any) -> ListObject[Loan]:
        """Loans, newest first."""
        return self._list(Loan, "/v1/loans", filters)

    def schedule(self, id: str) -> LendBridgeObject:
        """The loan's repayment schedule (instalments in fen)."""
        return self._call(LendBridgeObject, "GET", _path("/v1/loans/{}/schedule", id))

    def statement(self, id: str) -> LendBridgeObject:
        """The loan's statement: balances, paid and outstanding amounts in fen."""
        return self._call(LendBridgeObject, "GET", _path("/v1/loans/{}/statement", id))

    def create_repayment(
        self, id: str, *, amount: int, idempotency_key: str | None = None, **params: Any
    ) -> Repayment:
        """Record a repayment of ``amount`` fen, allocated by the product's waterfall."""
        return self._call(
            Repayment,
            "POST",
            _path("/v1/loans/{}/repayments", id),
            body={"amount": amount, **params},
            idempotency_key=idempotency_key,
        )

    def list_repayments(self, id: str, **filters: Any) -> ListObject[Repayment]:
        """The loan's repayments, newest first."""
        return self._list(Repayment, _path("/v1/loans/{}/repayments", id), filters)

    def payoff_quote(self, id: str, *, idempotency_key: str | None = None, **params: Any) -> LendBridgeObject:
        """What it costs to pay the loan off (e.g. on ``date=``), amounts in fen."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/loans/{}/payoff_quote", id),
            body=params,
            idempotency_key=idempotency_key,
        )

    def create_prepayment(
        self, id: str, *, amount: int, mode: str, idempotency_key: str | None = None, **params: Any
    ) -> Repayment:
        """Prepay ``amount`` fen; ``mode`` is ``shorten_term`` or ``lower_instalment``."""
        return self._call(
            Repayment,
            "POST",
            _path("/v1/loans/{}/prepayments", id),
            body={"amount": amount, "mode": mode, **params},
            idempotency_key=idempotency_key,
        )

    def agreement(self, id: str, *, signer: str | None = None) -> LendBridgeObject:
        """The loan agreement: before signing, the text to show the borrower and its ``hash``
        (``signer`` as it will be sent to ``sign``: the text names them); after, the signed one."""
        params = {"signer": signer} if signer is not None else None
        return self._call(LendBridgeObject, "GET", _path("/v1/loans/{}/agreement", id), params=params)

    def sign(self, id: str, *, idempotency_key: str | None = None, **params: Any) -> Loan:
        """Sign the loan contract; returns the loan. Pass ``agreement_hash`` (from ``agreement``)
        to sign only the text the borrower was shown: a changed agreement raises
        ``InvalidRequestError`` with code ``agreement_changed`` (409), as does a loan that cannot
        be signed in its state."""
        return self._call(
            Loan, "POST", _path("/v1/loans/{}/sign", id), body=params, idempotency_key=idempotency_key
        )

    def cancel(self, id: str, *, idempotency_key: str | None = None, **params: Any) -> Loan:
        """Cancel a loan that has not been disbursed; returns the loan."""
        return self._call(
            Loan, "POST", _path("/v1/loans/{}/cancel", id), body=params, idempotency_key=idempotency_key
        )


class CreditLineService(_Service):
    def retrieve(self, id: str) -> CreditLine:
        """One credit line. Raises ``NotFoundError``."""
        return self._call(CreditLine, "GET", _path("/v1/credit_lines/{}", id))

    def list(self, **filters: Any) -> ListObject[CreditLine]:
        """Credit lines, newest first."""
        return self._list(CreditLine, "/v1/credit_lines", filters)

    def create_draw(self, id: str, *, amount: int, idempotency_key: str | None = None, **params: Any) -> Draw:
        """Draw ``amount`` fen from the line. Raises ``InvalidRequestError`` above the available limit."""
        return self._call(
            Draw,
            "POST",
            _path("/v1/credit_lines/{}/draws", id),
            body={"amount": amount, **params},
            idempotency_key=idempotency_key,
        )

    def list_draws(self, id: str, **filters: Any) -> ListObject[Draw]:
        """The line's draws, newest first."""
        return self._list(Draw, _path("/v1/credit_lines/{}/draws", id), filters)


class ProductService(_Service):
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Product:
        """Publish a loan product (institution credentials)."""
        return self._call(Product, "POST", "/v1/products", body=params, idempotency_key=idempotency_key)

    def retrieve(self, id: str) -> Product:
        """One product. Raises ``NotFoundError``."""
        return self._call(Product, "GET", _path("/v1/products/{}", id))

    def list(self, **filters: Any) -> ListObject[Product]:
        """Products, newest first."""
        return self._list(Product, "/v1/products", filters)


class WebhookEndpointService(_Service):
    def create(self, *, url: str, idempotency_key: str | None = None, **params: Any) -> WebhookEndpoint:
        """Register an endpoint (``url``, ``enabled_events``); the answer carries its ``secret``
        once: store it to verify deliveries."""
        return self._call(
            WebhookEndpoint,
            "POST",
            "/v1/webhook_endpoints",
            body={"url": url, **params},
            idempotency_key=idempotency_key,
        )

    def retrieve(self, id: str) -> WebhookEndpoint:
        """One endpoint (without its secret). Raises ``NotFoundError``."""
        return self._call(WebhookEndpoint, "GET", _path("/v1/webhook_endpoints/{}", id))

    def list(self, **filters: Any) -> ListObject[WebhookEndpoint]:
        """Endpoints, newest first."""
        return self._list(WebhookEndpoint, "/v1/webhook_endpoints", filters)

    def delete(self, id: str) -> WebhookEndpoint:
        """Delete an endpoint; returns it with ``deleted`` true."""
        return self._call(WebhookEndpoint, "DELETE", _path("/v1/webhook_endpoints/{}", id))

    def rotate_secret(self, id: str, *, idempotency_key: str | None = None, **params: Any) -> WebhookEndpoint:
        """Issue a new secret; returns the endpoint with the new ``secret``. During the overlap
        period deliveries carry signatures for both secrets."""
        return self._call(
            WebhookEndpoint,
            "POST",
            _path("/v1/webhook_endpoints/{}/rotate_secret", id),
            body=params,
            idempotency_key=idempotency_key,
        )

    def list_attempts(self, id: str, **filters: Any) -> ListObject[DeliveryAttempt]:
        """Delivery attempts to this endpoint, newest first."""
        return self._list(DeliveryAttempt, _path("/v1/webhook_endpoints/{}/attempts", id), filters)


class EventService(_Service):
    def retrieve(self, id: str) -> Event:
        """One event. Raises ``NotFoundError``."""
        return self._call(Event, "GET", _path("/v1/events/{}", id))

    def list(self, **filters: Any) -> ListObject[Event]:
        """Events, newest first; ``type="loan.disbursed"`` filters by type."""
        return self._list(Event, "/v1/events", filters)

    def resend(self, id: str, *, idempotency_key: str | None = None, **params: Any) -> LendBridgeObject:
        """Deliver the event again to its endpoints (or ``endpoint=`` one); returns the server's
        answer typed by its ``object``."""
        return self._call(
            LendBridgeObject,
            "POST",
            _path("/v1/events/{}/resend", id),
            body=params,
            idempotency_key=idempotency_key,
        )


class WidgetSessionService(_Service):
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> WidgetSession:
        """Start a widget session; give its short-lived client token to the page."""
        return self._call(
            WidgetSession, "POST", "/v1/widget_sessions", body=params, idempotency_key=idempotency_key
        )

    def retrieve(self, id: str) -> WidgetSession:
        """One widget session. Raises ``NotFoundError``."""
        return self._call(WidgetSession, "GET", _path("/v1/widget_sessions/{}", id))


class TestClockService(_Service):
    __test__ = False  # not a pytest test class despite the name

    def create(
        self,
        *,
        frozen_time: int | str,
        name: str | None = None,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> TestClock:
        """Create a sandbox test clock frozen at ``frozen_time`` (test keys only)."""
        body = {"frozen_time": frozen_time, **params}
        if name is not None:
            body["name"] = name
        return self._call(TestClock, "POST", "/v1/test_clocks", body=body, idempotency_key=idempotency_key)

    def retrieve(self, id: str) -> TestClock:
        """One test clock. Raises ``NotFoundError``."""
        return self._call(TestClock, "GET", _path("/v1/test_clocks/{}", id))

    def list(self, **filters: Any) -> ListObject[TestClock]:
        """Test clocks, newest first."""
        return self._list(TestClock, "/v1/test_clocks", filters)

    def advance(
        self, id: str, *, frozen_time: int | str, idempotency_key: str | None = None, **params: Any
    ) -> TestClock:
        """Move the clock forward to ``frozen_time``; what falls due by then runs."""
        return self._call(
            TestClock,
            "POST",
            _path("/v1/test_clocks/{}/advance", id),
            body={"frozen_time": frozen_time, **params},
            idempotency_key=idempotency_key,
        )

    def delete(self, id: str) -> TestClock:
        """Delete a test clock; returns it with ``deleted`` true."""
        return self._call(TestClock, "DELETE", _path("/v1/test_clocks/{}", id))
