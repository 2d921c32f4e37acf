"""`/admin/v1/ledger`: trial balances of the institutions' books (platform staff)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.ledger import services
from lendbridge.ledger import tasks as _tasks  # noqa: F401 - registers the hourly rollup
from lendbridge.ledger.schemas import TrialBalanceArgsSchema, TrialBalanceSchema, trial_balance_body

blp = Blueprint("admin_ledger", __name__, url_prefix="/admin/v1", description="Institution ledgers")


@blp.route("/ledger/trial_balance")
class TrialBalance(MethodView):
    @requires("admin:ledger")
    @blp.arguments(TrialBalanceArgsSchema, location="query")
    @blp.response(200, TrialBalanceSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Debit and credit totals per account of one institution's books, as of a business date"""
        uow = get_uow()
        livemode = args.get("livemode", current_principal().livemode)
        return trial_balance_body(
            services.institution_trial_balance(uow, args["institution"], livemode, args.get("as_of"))
        )
