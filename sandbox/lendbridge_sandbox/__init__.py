"""Simulators for outside parties (banks, channels, bureau, OCR/liveness, SMS, regulator),
test clocks and demo data."""
