"""Product use cases: publish, read, and find what a partner may lend under."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from lendbridge.audit import service as audit
from lendbridge.core.errors import InvalidParameter, NotFound
from lendbridge.core.ids import new_id
from lendbridge.core.money import format_rate
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.loans.delinquency import ClassificationThresholds
from lendbridge.loans.terms import DayCount, FutureRule
from lendbridge.loans.waterfall import DEFAULT_ORDER, AllocationOrder, Component, Dueness
from lendbridge.products import domain
from lendbridge.products.domain import BorrowerType, ProductKind, ProductTerms, Reward
from lendbridge.products.models import Product
from lendbridge.uow import UnitOfWork

ACTIVE = "active"


def apr_cap() -> Decimal:
    """The lowest APR cap in force (platform cap, or the judicial cap when lower)."""
    from flask import current_app

    cap: Decimal = current_app.extensions["lendbridge"].settings.effective_apr_cap
    return cap


def terms_of(product: Product) -> ProductTerms:
    """The product row as domain data."""
    order = product.allocation_order or {}
    reward = product.pricing_reward or {}
    return ProductTerms(
        kind=ProductKind(product.kind),
        borrower_type=BorrowerType(product.borrower_type),
        methods=domain.parse_methods(product.methods),
        amount_min=product.amount_min,  # type: ignore[arg-type]
        amount_max=product.amount_max,  # type: ignore[arg-type]
        term_min=product.term_min,
        term_max=product.term_max,
        rate_min=Decimal(product.rate_min),
        rate_max=Decimal(product.rate_max),
        penalty_rate=Decimal(product.penalty_rate),
        upfront_fee=product.upfront_fee,  # type: ignore[arg-type]
        upfront_fee_rate=Decimal(product.upfront_fee_rate),
        monthly_fee_rate=Decimal(product.monthly_fee_rate),
        prepayment_fee_rate=Decimal(product.prepayment_fee_rate),
        allocation_order=AllocationOrder.from_names(
            order.get("steps", DEFAULT_ORDER.names), order.get("traversal", "by_instalment")
        ),
        future_rule=FutureRule(product.future_rule),
        rate_grid={g: Decimal(r) for g, r in (product.rate_grid or {}).items()},
        reward=Reward(
            int(reward.get("after_on_time_instalments", domain.DEFAULT_REWARD_AFTER)),
            Decimal(str(reward.get("rate_reduction", domain.DEFAULT_REWARD_REDUCTION))),
        ),
        subsidy_target_rate=Decimal(product.subsidy["target_rate"]) if product.subsidy else None,
        day_count=DayCount(product.day_count),
    )


def thresholds_of(data: dict[str, Any] | None) -> ClassificationThresholds:
    if not data:
        return ClassificationThresholds()
    return ClassificationThresholds(**{k: int(v) for k, v in data.items()})


def _order(args: dict[str, Any]) -> AllocationOrder:
    spec = args.get("allocation_order") or {}
    order = AllocationOrder.from_names(
        spec.get("steps") or DEFAULT_ORDER.names, spec.get("traversal") or "by_instalment"
    )
    owed = {(d, c) for d in (Dueness.PAST_DUE, Dueness.DUE) for c in Component}
    missing = owed - set(order.steps)
    if missing:
        names = ", ".join(sorted(f"{d}.{c}" for d, c in missing))
        raise InvalidParameter(
            f"allocation_order must name every past_due and due component; missing: {names}",
            param="allocation_order.steps",
        )
    return order


def create_product(uow: UnitOfWork, args: dict[str, Any]) -> Product:
    """Publish a product for the calling institution (422 apr_cap_exceeded above the cap)."""
    fees = args.get("fees") or {}
    reward = args.get("pricing_reward") or {}
    subsidy = args.get("subsidy")
    order = _order(args)
    thresholds = args.get("classification_thresholds")
    thresholds_of(thresholds)  # validates ordering (422 naming the field)
    terms = ProductTerms(
        kind=ProductKind(args["kind"]),
        borrower_type=BorrowerType(args["borrower_type"]),
        methods=domain.parse_methods(args.get("methods") or []),
        amount_min=args["amount"]["min"],
        amount_max=args["amount"]["max"],
        term_min=args["term"]["min"],
        term_max=args["term"]["max"],
        rate_min=args["rate"]["min"],
        rate_max=args["rate"]["max"],
        penalty_rate=args["penalty_rate"],
        upfront_fee=fees.get("upfront_fee", 0),
        upfront_fee_rate=fees.get("upfront_fee_rate", Decimal(0)),
        monthly_fee_rate=fees.get("monthly_fee_rate", Decimal(0)),
        prepayment_fee_rate=fees.get("prepayment_fee_rate", Decimal(0)),
        allocation_order=order,
        future_rule=FutureRule(args.get("future_rule") or FutureRule.LOWER_INSTALMENT),
        rate_grid=args.get("rate_grid") or {},
        reward=Reward(
            reward.get("after_on_time_instalments", domain.DEFAULT_REWARD_AFTER),
            reward.get("rate_reduction", domain.DEFAULT_REWARD_REDUCTION),
        ),
        subsidy_target_rate=subsidy["target_rate"] if subsidy else None,
        day_count=DayCount(args.get("day_count") or DayCount.ACT_360),
    )
    domain.validate(terms)
    worst = domain.check_apr_cap(terms, apr_cap())
    product = Product(
        id=new_id("prod"),
        created=uow.now(),
        name=args["name"],
        description=args.get("description"),
        status=ACTIVE,
        kind=terms.kind.value,
        borrower_type=terms.borrower_type.value,
        methods=[m.value for m in terms.methods],
        amount_min=terms.amount_min,
        amount_max=terms.amount_max,
        term_min=terms.term_min,
        term_max=terms.term_max,
        rate_min=terms.rate_min,
        rate_max=terms.rate_max,
        penalty_rate=terms.penalty_rate,
        day_count=terms.day_count.value,
        upfront_fee=terms.upfront_fee,
        upfront_fee_rate=terms.upfront_fee_rate,
        monthly_fee_rate=terms.monthly_fee_rate,
        prepayment_fee_rate=terms.prepayment_fee_rate,
        eligibility=_eligibility(args.get("eligibility") or {}),
        allocation_order={"steps": list(order.names), "traversal": order.traversal.value},
        future_rule=terms.future_rule.value,
        rate_grid={g: format_rate(r, 4) for g, r in terms.rate_grid.items()},
        pricing_reward={
            "after_on_time_instalments": terms.reward.after_on_time_instalments,
            "rate_reduction": format_rate(terms.reward.rate_reduction, 4),
        },
        subsidy={"target_rate": format_rate(terms.subsidy_target_rate, 4)}
        if terms.subsidy_target_rate
        else None,
        classification_thresholds=thresholds,
        custody_account=args.get("custody_account"),
        partner_ids=args.get("partner_ids"),
        max_apr=format_rate(worst.apr, 4),
    )
    uow.session.add(product)
    uow.session.flush()
    audit.record(
        uow.session, "product.created", product.id, {"kind": product.kind, "max_apr": product.max_apr}
    )
    uow.after_commit(catalogue_changed)
    return product


# Bumped after every commit that changes the catalogue in this process, so per-process
# caches of it (risk matching) drop their copy at once; other processes within their TTL.
_catalogue_version = 0


def catalogue_changed() -> None:
    global _catalogue_version
    _catalogue_version += 1


def catalogue_version() -> int:
    return _catalogue_version


def _eligibility(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if v is not None}
    if "min_age" in out and "max_age" in out and out["min_age"] > out["max_age"]:
        raise InvalidParameter(
            "eligibility.min_age must not exceed eligibility.max_age", param="eligibility.min_age"
        )
    return out


def get_product(uow: UnitOfWork, product_id: str) -> Product:
    """The calling institution's own product (404 for any other)."""
    return uow.get(Product, product_id)


def list_own_products(uow: UnitOfWork, request: PageRequest) -> Page[Any]:
    return uow.page(select(Product), Product, request)


def _available(livemode: bool) -> Select[Any]:
    """Active products of every institution in the caller's mode.

    An explicit cross-tenant read: products belong to institutions, partners lend under them.
    """
    return (
        select(Product)
        .where(Product.status == ACTIVE, Product.livemode == livemode)
        .execution_options(all_tenants=True)
    )


def _allowed(product: Product, partner_id: str) -> bool:
    return not product.partner_ids or partner_id in product.partner_ids


def list_available_products(uow: UnitOfWork, request: PageRequest) -> Page[Any]:
    """Products a partner may offer: active, same mode, and the partner on any allow-list.

    The allow-list is JSON, so it is applied here, walking pages until one is full.
    """
    partner_id = uow.ctx.tenant_id
    assert partner_id is not None
    stmt = _available(uow.ctx.livemode)
    if request.ending_before:
        page = uow.page(stmt, Product, request)
        return Page([p for p in page.data if _allowed(p, partner_id)], page.has_more)
    collected: list[Product] = []
    cursor = request.starting_after
    while True:
        page = uow.page(stmt, Product, PageRequest(limit=100, starting_after=cursor))
        collected.extend(p for p in page.data if _allowed(p, partner_id))
        if len(collected) > request.limit or not page.has_more:
            break
        cursor = page.data[-1].id
    return Page(collected[: request.limit], len(collected) > request.limit or page.has_more)


def product_for_partner(uow: UnitOfWork, product_id: str) -> Product:
    """A product the calling partner may lend under (404 otherwise, like a missing one)."""
    ctx = uow.ctx
    stmt = _available(ctx.livemode).where(Product.id == product_id)
    product = uow.session.execute(stmt).scalar_one_or_none()
    if product is None or (ctx.tenant_id is not None and not _allowed(product, ctx.tenant_id)):
        raise NotFound(f"No such product: '{product_id}'", param="product")
    return product


def product_for_system(uow: UnitOfWork, product_id: str) -> Product:
    product = uow.session.execute(
        select(Product).where(Product.id == product_id).execution_options(all_tenants=True)
    ).scalar_one_or_none()
    if product is None:
        raise NotFound(f"No such product: '{product_id}'", param="product")
    return product
