"""`/v1/products`: institutions publish and read their products; partners read what they may offer."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.http.schemas import list_body, list_of, page_request
from lendbridge.products import services
from lendbridge.products.schemas import (
    ProductCreateSchema,
    ProductListArgsSchema,
    ProductSchema,
    product_body,
)
from lendbridge.tenancy.domain import TenantKind

blp = Blueprint("products", __name__, url_prefix="/v1", description="Loan products")


def _is_institution() -> bool:
    return current_principal().tenant_kind is TenantKind.INSTITUTION


@blp.route("/products")
class Products(MethodView):
    @requires("products:write")
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Publish a loan product (institutions)

        The worst case the product allows (highest rate with every fee, shortest and longest
        term, smallest and largest amount, each method) must stay under the APR cap, else
        422 `apr_cap_exceeded` naming the field to lower.
        """
        return product_body(services.create_product(get_uow(), args))

    @requires("products:read")
    @blp.arguments(ProductListArgsSchema, location="query")
    @blp.response(200, list_of(ProductSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List products: an institution's own, or those a partner may offer"""
        uow = get_uow()
        request = page_request(args)
        page = (
            services.list_own_products(uow, request)
            if _is_institution()
            else services.list_available_products(uow, request)
        )
        page_body = [product_body(p) for p in page.data]
        return list_body(type(page)(page_body, page.has_more), "/v1/products")


@blp.route("/products/<product_id>")
class ProductItem(MethodView):
    @requires("products:read")
    @blp.response(200, ProductSchema)
    def get(self, product_id: str) -> dict[str, Any]:
        """Retrieve a product"""
        uow = get_uow()
        product = (
            services.get_product(uow, product_id)
            if _is_institution()
            else services.product_for_partner(uow, product_id)
        )
        return product_body(product)
