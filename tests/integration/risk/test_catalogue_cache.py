"""The product catalogue risk matches against is kept per process for a few seconds, and
dropped at once when this process publishes a product."""

from __future__ import annotations

from flask import Flask

from lendbridge.risk.adapters import ProductsCatalog
from tests.factories.loans import make_book, make_product, uow_for


def test_the_catalogue_is_cached_and_a_new_product_shows_at_once(any_app: Flask) -> None:
    book = make_book(any_app)

    def catalogue() -> tuple[str, ...]:
        with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
            return tuple(p.product_id for p in ProductsCatalog(uow).available_products())

    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
        first = ProductsCatalog(uow).available_products()
        assert ProductsCatalog(uow).available_products() is first  # the cached copy
    assert catalogue() == (book.product_id,)
    second = make_product(any_app, book.institution, name="Second product")
    assert set(catalogue()) == {book.product_id, second}
    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id, livemode=True) as uow:
        assert ProductsCatalog(uow).available_products() == ()  # live mode has its own
