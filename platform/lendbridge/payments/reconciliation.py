"""Reconciliation: parse the daily statement files and match them against our payments.

Sources: each channel's statement (what it executed) and the custody bank's statement of
each custody account (what actually moved). Our side is every payment instruction that
succeeded that business date. Each statement line and each of our payments ends up as
exactly one of:

    matched            same instruction id, same amount, same direction
    missing_ours       they executed it, we have no successful payment for it
    missing_theirs     we recorded a success, their statement does not show it
    amount_mismatch    both have it, the amounts (or directions) differ
    duplicate          executed twice: twice in one statement, or on a channel other than
                       the one our payment succeeded on (a double payout)

A line for a payment we recorded as succeeded on another day is a timing difference, not
a break (it was matched on that day). The custody statement must also add up: opening +
credits - debits = closing, else a `balance_mismatch` break. Funding the institution pays
into its own account (channel `deposit`) is part of that sum but matched against nothing.

Statement files are CSV. The parsers accept exactly the documented columns and fail with
StatementFormatError naming the line, so a changed file layout stops the run instead of
producing a wrong report.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from lendbridge.payments.instructions import Direction
from lendbridge.payments.ports import ChannelStatus, CustodyRow, CustodyStatement, StatementRow

CHANNEL_COLUMNS = (
    "instruction_id",
    "channel_ref",
    "direction",
    "amount",
    "status",
    "executed_at",
    "custody_account",
)
CUSTODY_COLUMNS = (
    "account",
    "date",
    "type",
    "reference",
    "channel",
    "side",
    "amount",
    "booked_at",
    "balance_after",
)
FUNDING_CHANNEL = "deposit"  # custody movements paid in from outside the platform
EXECUTED = frozenset({ChannelStatus.SUCCEEDED, ChannelStatus.REVERSED})


class StatementFormatError(ValueError):
    pass


class BreakKind(StrEnum):
    MISSING_OURS = "missing_ours"
    MISSING_THEIRS = "missing_theirs"
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"
    BALANCE_MISMATCH = "balance_mismatch"


@dataclass(frozen=True)
class OurPayment:
    """One of our payment instructions, as reconciliation sees it."""

    instruction_id: str
    payment_id: str
    channel: str | None
    direction: Direction
    amount: int
    custody_account: str  # account number
    state: str
    succeeded_on: date | None  # business date of success, None if never succeeded


@dataclass(frozen=True)
class Break:
    kind: BreakKind
    source: str
    instruction_id: str | None
    payment_id: str | None = None
    ours_amount: int | None = None
    theirs_amount: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class SourceResult:
    source: str
    matched: int
    breaks: tuple[Break, ...] = field(default=())
    rows: int = 0


# -- parsing ------------------------------------------------------------------------------


def _reader(text: str, columns: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != tuple(columns):
        raise StatementFormatError(f"expected columns {','.join(columns)}, got {reader.fieldnames}")
    for number, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise StatementFormatError(f"line {number}: wrong number of fields")
        yield number, row


def _int(value: str, line: int, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise StatementFormatError(f"line {line}: {name} is not an integer") from None


def _instant(value: str, line: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise StatementFormatError(f"line {line}: not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        raise StatementFormatError(f"line {line}: timestamp without a time zone")
    return parsed


def parse_channel_statement(text: str) -> list[StatementRow]:
    rows = []
    for line, r in _reader(text, CHANNEL_COLUMNS):
        try:
            direction, status = Direction(r["direction"]), ChannelStatus(r["status"])
        except ValueError:
            raise StatementFormatError(f"line {line}: unknown direction or status") from None
        rows.append(
            StatementRow(
                instruction_id=r["instruction_id"],
                channel_ref=r["channel_ref"],
                direction=direction,
                amount=_int(r["amount"], line, "amount"),
                status=status,
                executed_at=_instant(r["executed_at"], line),
                custody_account=r["custody_account"],
            )
        )
    return rows


def parse_custody_statement(text: str) -> CustodyStatement:
    opening: int | None = None
    closing: int | None = None
    account, day = "", None
    rows: list[CustodyRow] = []
    for line, r in _reader(text, CUSTODY_COLUMNS):
        account = r["account"]
        try:
            day = date.fromisoformat(r["date"])
        except ValueError:
            raise StatementFormatError(f"line {line}: bad date") from None
        kind = r["type"]
        if kind == "opening":
            opening = _int(r["balance_after"], line, "balance_after")
        elif kind == "closing":
            closing = _int(r["balance_after"], line, "balance_after")
        elif kind == "movement":
            if r["side"] not in ("debit", "credit"):
                raise StatementFormatError(f"line {line}: side must be debit or credit")
            rows.append(
                CustodyRow(
                    reference=r["reference"],
                    channel=r["channel"],
                    side=r["side"],
                    amount=_int(r["amount"], line, "amount"),
                    booked_at=_instant(r["booked_at"], line),
                    balance_after=_int(r["balance_after"], line, "balance_after"),
                )
            )
        else:
            raise StatementFormatError(f"line {line}: unknown row type")
    if opening is None or closing is None or day is None:
        raise StatementFormatError("a custody statement needs an opening and a closing row")
    return CustodyStatement(account, day, opening, closing, tuple(rows))


# -- matching -----------------------------------------------------------------------------


def _compare(
    source: str,
    day: date,
    theirs: Mapping[str, list[tuple[Direction, int]]],
    ours: Mapping[str, OurPayment],
    known: Mapping[str, OurPayment],
    same_holder: str | None,
) -> SourceResult:
    """Match lines keyed by instruction id. `same_holder`: the channel this source is."""
    matched = 0
    breaks: list[Break] = []
    for iid, lines in sorted(theirs.items()):
        ours_p = ours.get(iid)
        if len(lines) > 1:
            breaks.append(
                Break(
                    BreakKind.DUPLICATE,
                    source,
                    iid,
                    ours_p.payment_id if ours_p else None,
                    ours_p.amount if ours_p else None,
                    sum(a for _, a in lines),
                    f"executed {len(lines)} times",
                )
            )
            continue
        direction, amount = lines[0]
        if ours_p is None:
            other = known.get(iid)
            if other is not None and other.succeeded_on is not None:
                if same_holder is not None and other.channel != same_holder:
                    breaks.append(
                        Break(
                            BreakKind.DUPLICATE,
                            source,
                            iid,
                            other.payment_id,
                            other.amount,
                            amount,
                            f"also executed here; our payment succeeded on {other.channel}",
                        )
                    )
                    continue
                if other.succeeded_on != day:
                    continue  # timing difference: reconciled on the day we recorded it
            breaks.append(
                Break(
                    BreakKind.MISSING_OURS,
                    source,
                    iid,
                    other.payment_id if other else None,
                    None,
                    amount,
                    f"our payment is {other.state}" if other else "no such payment on our side",
                )
            )
            continue
        if amount != ours_p.amount or direction is not ours_p.direction:
            breaks.append(
                Break(
                    BreakKind.AMOUNT_MISMATCH,
                    source,
                    iid,
                    ours_p.payment_id,
                    ours_p.amount,
                    amount,
                    "direction differs" if direction is not ours_p.direction else "amounts differ",
                )
            )
            continue
        matched += 1
    for iid, p in sorted(ours.items()):
        if iid not in theirs:
            breaks.append(
                Break(
                    BreakKind.MISSING_THEIRS,
                    source,
                    iid,
                    p.payment_id,
                    p.amount,
                    None,
                    "not in their statement",
                )
            )
    rows = sum(len(v) for v in theirs.values())
    return SourceResult(source, matched, tuple(breaks), rows)


def match_channel(
    channel: str,
    day: date,
    statement: Sequence[StatementRow],
    ours: Iterable[OurPayment],
    known: Mapping[str, OurPayment],
) -> SourceResult:
    """Channel statement of `day` vs our payments that succeeded on `channel` that day.

    `known` holds our payments for every instruction id in the statement, whatever their
    state, channel or day, to tell a double payout and a timing difference apart.
    """
    theirs: dict[str, list[tuple[Direction, int]]] = defaultdict(list)
    for row in statement:
        if row.status in EXECUTED:
            theirs[row.instruction_id].append((row.direction, row.amount))
    mine = {p.instruction_id: p for p in ours if p.channel == channel and p.succeeded_on == day}
    return _compare(channel, day, theirs, mine, known, channel)


def match_custody(
    statement: CustodyStatement,
    ours: Iterable[OurPayment],
    known: Mapping[str, OurPayment],
    *,
    source: str | None = None,
) -> SourceResult:
    """Custody statement of one account vs our payments through that account that day."""
    source = source or f"custody:{statement.account_number[-4:]}"
    theirs: dict[str, list[tuple[Direction, int]]] = defaultdict(list)
    for row in statement.rows:
        if row.channel == FUNDING_CHANNEL:
            continue  # the institution paying in: nothing of ours to match
        direction = Direction.PAYOUT if row.side == "debit" else Direction.COLLECTION
        theirs[row.reference].append((direction, row.amount))
    mine = {
        p.instruction_id: p
        for p in ours
        if p.custody_account == statement.account_number and p.succeeded_on == statement.day
    }
    result = _compare(source, statement.day, theirs, mine, known, None)
    net = sum(r.amount if r.side == "credit" else -r.amount for r in statement.rows)
    if statement.opening_balance + net != statement.closing_balance:
        extra = Break(
            BreakKind.BALANCE_MISMATCH,
            source,
            None,
            None,
            statement.opening_balance + net,
            statement.closing_balance,
            "opening + movements != closing",
        )
        result = SourceResult(result.source, result.matched, (*result.breaks, extra), result.rows)
    return result


def double_payouts(statements: Mapping[str, Sequence[StatementRow]]) -> Counter[str]:
    """Instruction ids executed more than once across all channel statements."""
    counts: Counter[str] = Counter()
    for rows in statements.values():
        for row in rows:
            if row.status in EXECUTED:
                counts[row.instruction_id] += 1
    return Counter({iid: n for iid, n in counts.items() if n > 1})
