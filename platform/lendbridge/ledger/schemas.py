from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lendbridge.http.schemas import StrictSchema
from lendbridge.ledger.services import TrialBalance


class TrialBalanceArgsSchema(StrictSchema):
    institution = fields.String(required=True, validate=validate.Length(min=1, max=40))
    livemode = fields.Boolean(metadata={"description": "Which books (default: the mode of your key)"})
    as_of = fields.Date(metadata={"description": "Business date, inclusive (default: today)"})


class TrialBalanceRowSchema(StrictSchema):
    account = fields.String()
    normal = fields.String(metadata={"description": "debit or credit: the side the account grows on"})
    debit = fields.Integer()
    credit = fields.Integer()
    balance = fields.Integer(metadata={"description": "In the account's normal direction, fen"})


class TrialBalanceSchema(StrictSchema):
    object = fields.String()
    institution = fields.String()
    livemode = fields.Boolean()
    as_of = fields.String()
    accounts = fields.List(fields.Nested(TrialBalanceRowSchema))
    total_debit = fields.Integer()
    total_credit = fields.Integer()
    balanced = fields.Boolean()


def trial_balance_body(tb: TrialBalance) -> dict[str, Any]:
    return {
        "object": "trial_balance",
        "institution": tb.institution_id,
        "livemode": tb.livemode,
        "as_of": tb.as_of.isoformat(),
        "accounts": [
            {
                "account": row.account.value,
                "normal": "debit" if row.account.debit_normal else "credit",
                "debit": row.debit,
                "credit": row.credit,
                "balance": row.balance,
            }
            for row in tb.rows
        ],
        "total_debit": tb.total_debit,
        "total_credit": tb.total_credit,
        "balanced": tb.balanced,
    }
