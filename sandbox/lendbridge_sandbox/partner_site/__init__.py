"""EduLink, the demo education partner: a course page with "pay in 12 instalments" through
the LendBridge widget, and a webhook receiver that marks enrolments paid.

Run it with `python -m lendbridge_sandbox.partner_site --port 8100 --api http://127.0.0.1:8000
--secret-key sk_test_... --publishable-key pk_test_...`, or in-process from the WSGI factory.
"""

from lendbridge_sandbox.partner_site.app import create_partner_app, register_webhook

__all__ = ["create_partner_app", "register_webhook"]
