"""End-to-end tests: the running system, driven as a person would (a real browser)."""
