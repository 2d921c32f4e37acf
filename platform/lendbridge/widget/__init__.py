"""The embeddable borrower widget: widget sessions, the widget-facing API and its assets."""
