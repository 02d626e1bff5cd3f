"""Identity linking: one person key per child across sources, never a silent merge.

A child is named by *identifiers*: a source system's own person id (``liquidlogic`` 1001),
a UPN, a ULN, an NHS number, and name with date of birth (:func:`demographic`: what a SEN2
return names a young person by who has neither UPN nor ULN, so every source that knows the
name registers it).  The first identifier a child is seen with decides the key
(a keyed hash of it, :func:`services.ingest.identity.person_key`); every identifier seen
with it afterwards is *linked* to that key, so a SEN2 return or a health extract naming the
child by UPN or NHS number reaches the journey the case-system export started.

The conflict rule:

- A child has at most one id per source system.  A record whose own id is new joins the
  child its UPN/ULN/NHS number already names, unless that child already has another id in
  the same system: two records of one system claiming one UPN are two children (one UPN is
  wrong), so the record keeps its own key and the shared identifier is reported, not linked.
- Identifiers of one record that already name two different children are never merged: a
  record with its own id keeps the key of that id and links nothing else (reported); a
  record without one (SEN2, health by NHS number) is rejected (reported).

Name and date of birth are *weak*: two children can share them.  A case-system record
registers them, but they never decide which child such a record is (except a child only a
SEN2 return has named, by them) and never conflict: the first child keeps them, and a SEN2
return naming a young person by them alone reaches that child.

Links are kept as keyed hashes of the identifiers, so the state file holds no UPN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from services.ingest.identity import keyed_hex, person_key

SHARED_KINDS = frozenset({"upn", "uln", "nhs", "demographic"})  # everything else: a system id
WEAK_KINDS = frozenset({"demographic"})  # names a child only where nothing else does
KIND_NAMES = {"upn": "UPN", "uln": "ULN", "nhs": "NHS number", "demographic": "name and DOB"}

Identifier = tuple[str, str]  # (kind, value)


def normalise(kind: str, value: str) -> str:
    if kind == "demographic":  # forename|surname|date: case and spacing are not identity
        return "|".join(" ".join(part.split()) for part in value.casefold().split("|"))
    text = "".join(value.split()) if kind in ("nhs", "uln") else value.strip()
    return text.upper() if kind == "upn" else text


def demographic(forename: str, surname: str, born: date | None) -> Identifier | None:
    """Name and date of birth as one identifier (``None`` unless all three are known).

    The SEN2 return names a young person with neither UPN nor ULN this way (UPNunknown UN9,
    never at a state-funded school), so a case-system record with the name registers it too:
    otherwise the return's record of that child would start a second journey."""
    if not (forename.strip() and surname.strip() and born is not None):
        return None
    return "demographic", normalise("demographic", f"{forename}|{surname}|{born.isoformat()}")


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, f"{kind} id")


@dataclass(frozen=True)
class Resolution:
    """The key a record publishes under (``None``: rejected) and the identifiers not linked."""

    person_key: str | None
    conflicts: tuple[str, ...] = ()

    def message(self) -> str:
        if self.person_key is None and not self.conflicts:
            return "no UPN, ULN, or name and date of birth to know the child by: not published"
        kinds = " and ".join(kind_name(k) for k in self.conflicts)
        if self.person_key is None:
            return f"its {kinds} name two different children: not linked, not published"
        return f"its {kinds} already names another child: kept apart, not linked"


@dataclass
class IdentityLinker:
    """Resolves identifiers to person keys, remembering every link it makes.

    ``links`` maps an identifier's digest to ``(person key, kind)``; load it from the ingest
    state to link across runs, and save :attr:`added` after publishing.
    """

    secret: str
    links: dict[str, tuple[str, str]] = field(default_factory=dict)
    added: dict[str, tuple[str, str]] = field(default_factory=dict)
    _systems: dict[str, set[str]] = field(default_factory=dict)
    _digests: dict[Identifier, str] = field(default_factory=dict)  # an export asks twice

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("the person-key secret is empty: keys would be plain hashes of ids")
        for key, kind in self.links.values():
            if kind not in SHARED_KINDS:
                self._systems.setdefault(key, set()).add(kind)

    def digest(self, identifier: Identifier) -> str:
        found = self._digests.get(identifier)
        if found is None:
            kind, value = identifier
            message = f"link:{kind}:{normalise(kind, value)}".encode()
            found = keyed_hex(self.secret, message, 40)
            if len(self._digests) > 500_000:
                self._digests.clear()
            self._digests[identifier] = found
        return found

    def known(self, identifier: Identifier) -> str | None:
        found = self.links.get(self.digest(identifier))
        return found[0] if found else None

    def named_by_a_system(self, key: str) -> bool:
        """Whether a source system's own id (a case-system export) names this child."""
        return bool(self._systems.get(key))

    def resolve(self, own: Identifier | None, others: Iterable[Identifier] = ()) -> Resolution:
        """The key of a record with its own id ``own`` (or none) and shared identifiers."""
        shared = [(k, normalise(k, v)) for k, v in others if v.strip()]
        found = {i: self.known(i) for i in shared}
        if own is not None:
            return self._with_own(own, found)
        keys = {k for k in found.values() if k}
        if len(keys) > 1:
            return Resolution(None, tuple(sorted({i[0] for i, k in found.items() if k})))
        if not shared:
            return Resolution(None)
        key = keys.pop() if keys else person_key(self.secret, *shared[0])
        self._link(key, [i for i, k in found.items() if k is None])
        return Resolution(key)

    def _with_own(self, own: Identifier, found: Mapping[Identifier, str | None]) -> Resolution:
        strong = {i: k for i, k in found.items() if i[0] not in WEAK_KINDS}
        key = self.known(own)
        conflicts: set[str] = set()
        if key is None:
            keys = {k for k in strong.values() if k}
            if not keys:  # name and DOB join only a child no case system names (SEN2's)
                keys = {k for i, k in found.items() if k and not self.named_by_a_system(k)}
            candidate = keys.pop() if len(keys) == 1 else None
            if candidate is not None and own[0] not in self._systems.get(candidate, set()):
                key = candidate
            else:
                conflicts = {i[0] for i, k in strong.items() if k}
                key = person_key(self.secret, own[0], own[1].strip())
            self._link(key, [own])
        for identifier, other in found.items():
            weak = identifier[0] in WEAK_KINDS
            if other is None:
                if not conflicts or weak:
                    self._link(key, [identifier])
            elif other != key and not weak:  # two children may share a name and birthday
                conflicts.add(identifier[0])
        return Resolution(key, tuple(sorted(conflicts)))

    def link(self, key: str, identifiers: Iterable[Identifier]) -> tuple[str, ...]:
        """Link further identifiers of a resolved record (a UPN on ``ssd_send``); returns the
        kinds that already name another child, which are not linked."""
        conflicts = []
        for kind, value in identifiers:
            if not value.strip():
                continue
            identifier = (kind, normalise(kind, value))
            other = self.known(identifier)
            if other is None:
                self._link(key, [identifier])
            elif other != key:
                conflicts.append(kind)
        return tuple(sorted(set(conflicts)))

    def forget_added(self) -> None:
        """Undo every link made since :attr:`added` was last saved (a refused request)."""
        for digest in self.added:
            self.links.pop(digest, None)
        self.added.clear()
        self._systems.clear()
        for key, kind in self.links.values():
            if kind not in SHARED_KINDS:
                self._systems.setdefault(key, set()).add(kind)

    def _link(self, key: str, identifiers: Iterable[Identifier]) -> None:
        for identifier in identifiers:
            digest = self.digest(identifier)
            if digest not in self.links:
                self.links[digest] = self.added[digest] = (key, identifier[0])
                if identifier[0] not in SHARED_KINDS:
                    self._systems.setdefault(key, set()).add(identifier[0])
