"""Loopback fakes of external platforms, speaking each one's documented contract."""
