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


# SEN2 1.7 UPNunknown (CBDS): why a child has no UPN (UN4, UN6 and UN7 are retired)
UPN_UNKNOWN = frozenset({"UN1", "UN2", "UN3", "UN5", "UN8", "UN9", "UN10"})


def upn_unknown_fault(code: str) -> str | None:
    """Why ``code`` is not a UPN-unknown reason, or None when it is one."""
    if code.upper() in UPN_UNKNOWN:
        return None
    known = "/".join(sorted(UPN_UNKNOWN, key=lambda c: int(c[2:])))
    return f"a UPN-unknown reason is one of {known}"


def nhs_check_ok(nhs: str) -> bool:
    """NHS Digital's modulus 11: weights 10..2 over digits 1-9; 11 - (sum % 11) is digit 10
    (11 means 0; 10 means no number has those nine digits)."""
    check = 11 - sum(int(d) * w for d, w in zip(nhs[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == int(nhs[9])


def nhs_fault(nhs: str) -> str | None:
    """Why ``nhs`` is not an NHS number (10 digits, spaces allowed as 3-3-4), or None."""
    digits = nhs.replace(" ", "")
    if not re.fullmatch(r"\d{10}", digits):
        return "an NHS number is 10 digits"
    if not nhs_check_ok(digits):
        return "the NHS number's check digit (digit 10) does not match digits 1-9"
    return None


def nhs_with_check(first_nine: str) -> str | None:
    """The NHS number whose first nine digits are ``first_nine``, or None (none has them)."""
    for digit in "0123456789":
        if nhs_check_ok(first_nine + digit):
            return first_nine + digit
    return None


def identifier_fault(kind: str, value: str) -> tuple[str, str] | None:
    """(rule, why) when ``value`` is not a ``kind`` (upn, uln, nhs) identifier; else None.
    Other kinds (a case system's own ids) have no shape to check."""
    checks = {"upn": ("R-DATA-UPN", upn_fault), "uln": ("R-DATA-ULN", uln_fault)}
    checks["nhs"] = ("R-DATA-NHS", nhs_fault)
    if kind not in checks:
        return None
    rule, fault = checks[kind]
    why = fault(value)
    return (rule, why) if why is not None else None


# A UK postcode's shape (BS 7666, as GOV.UK's data standards give it): an outward code (area,
# district) and an inward code (sector digit, two unit letters, never C I K M O V).
_POSTCODE = re.compile(
    r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})"
)


def postcode_fault(postcode: str) -> str | None:
    """Why ``postcode`` is not a UK postcode, or None (case and one space are forgiven)."""
    if _POSTCODE.fullmatch(postcode.strip().upper()):
        return None
    return "not a UK postcode (an outward code, then a digit and two letters)"
