"""The person-key secret: the public development one is for synthetic children only.

With ``CASEWATCH_PERSON_KEY_SECRET`` unset, person keys are keyed hashes under a secret
printed in the source code, so anyone could re-identify a child from a key. ``casewatch
ingest`` therefore refuses anything but ``casewatch demo-data``'s own output
(``demo.marker``) with it, and the HTTP API does not start with it.
"""

from __future__ import annotations

from pathlib import Path

from services.ingest.demo.marker import is_demo_output
from services.runtime.settings import DEV_PERSON_KEY_SECRET, Settings

HOW = (
    "set CASEWATCH_PERSON_KEY_SECRET to a secret of your own (32+ random characters, e.g. "
    "the output of `python3 -c 'import secrets; print(secrets.token_hex(32))'`), keep it "
    "in your secret store and use the same one on every run: it decides every child's key"
)


def development_secret(settings: Settings) -> bool:
    return settings.person_key_secret.get_secret_value() == DEV_PERSON_KEY_SECRET


def refusal(settings: Settings, paths: list[Path]) -> str | None:
    """Why ingesting ``paths`` is refused, or ``None``."""
    if not development_secret(settings) or is_demo_output(paths):
        return None
    return (
        "CASEWATCH_PERSON_KEY_SECRET is not set, and the development secret it falls back to "
        f"is public: it is only for `casewatch demo-data` output, which this is not; {HOW}"
    )
