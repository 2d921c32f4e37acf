"""Imports every area's models so that the metadata (and Alembic) sees all tables."""

from __future__ import annotations

from lendbridge import clocks as _clocks  # noqa: F401
from lendbridge.audit import models as _audit  # noqa: F401
from lendbridge.db import Base
from lendbridge.events import models as _events  # noqa: F401
from lendbridge.http import idempotency as _idempotency  # noqa: F401
from lendbridge.identity import models as _identity  # noqa: F401
from lendbridge.ledger import models as _ledger  # noqa: F401
from lendbridge.loans import models as _loans  # noqa: F401
from lendbridge.payments import models as _payments  # noqa: F401
from lendbridge.products import models as _products  # noqa: F401
from lendbridge.risk import models as _risk  # noqa: F401
from lendbridge.tenancy import models as _tenancy  # noqa: F401
from lendbridge.webhooks import models as _webhooks  # noqa: F401
from lendbridge.widget import models as _widget  # noqa: F401

metadata = Base.metadata
