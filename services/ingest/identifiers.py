"""The shape of a UPN and a ULN, as the DfE and the Learning Records Service define them.

Neither is read by a clock: a fault in one is a warning, the record is kept, and the value is
still used to link the child (another system may hold the same string).  Messages never
quote the value (rules.md: no UPN or ULN in a report).

- UPN (DfE "Unique pupil numbers (UPNs): guidance"; CBDS N00001): 13 characters, a check
  letter, 11 digits, then a digit (permanent) or a letter (temporary UPN).  The check letter
  is ``LETTERS[sum(weight * value) % 23]`` over characters 2-13 with weights 2-13, a letter in
  position 13 counting as its index in ``LETTERS`` (no I, O or S).
- ULN (Learning Records Service; HESA publishes the check): 10 digits, the first not 0, and
  ``sum(digit * weight for weights 10..1) % 11 == 10``.  HESA's worked example 9276308686
  passes; ``12345678`` (the 8-digit pattern of the community XSD) does not.
"""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # the UPN check alphabet: no I, O, S
_UPN = re.compile(r"[A-Z]\d{11}[0-9A-Z]")
_ULN = re.compile(r"[1-9]\d{9}")


def upn_check_letter(upn: str) -> str | None:
    """The check letter characters 2-13 of ``upn`` call for (None if they cannot)."""
    total = 0
    for weight, char in enumerate(upn[1:13], start=2):
        if char.isdigit():
            total += int(char) * weight
        elif char in LETTERS:
            total += LETTERS.index(char) * weight
        else:
            return None
    return LETTERS[total % 23]


def upn_fault(upn: str) -> str | None:
    """Why ``upn`` is not a UPN, or None when it is one."""
    if len(upn) != 13:
        return f"a UPN has 13 characters, this one {len(upn)}"
    if not _UPN.fullmatch(upn) or upn[12] in "IOS":
        return "a UPN is a letter, 11 digits, then a digit or (temporary UPN) a letter"
    if upn_check_letter(upn) != upn[0]:
        return "the UPN's check letter (character 1) does not match characters 2-13"
    return None


def uln_check_ok(uln: str) -> bool:
    """The LRS check: weights 10..1, the sum modulo 11 is 10."""
    return sum(int(d) * w for d, w in zip(uln, range(10, 0, -1), strict=True)) % 11 == 10


def uln_fault(uln: str) -> str | None:
    """Why ``uln`` is not a Unique Learner Number, or None when it is one."""
    if not _ULN.fullmatch(uln):
        return "a ULN is 10 digits, the first not 0"
    if not uln_check_ok(uln):
        return "the ULN's check digit (digit 10) does not match digits 1-9"
    return None


def uln_with_check(first_nine: str) -> str | None:
    """The ULN whose first nine digits are ``first_nine``, or None (no check digit fits)."""
    for digit in "0123456789":
        if uln_check_ok(first_nine + digit):
            return first_nine + digit
    return None


def upn_with_check(last_twelve: str) -> str:
    """The UPN whose characters 2-13 are ``last_twelve``."""
    letter = upn_check_letter("?" + last_twelve)
    assert letter is not None, "characters 2-13 must be digits or check-alphabet letters"
    return letter + last_twelve
