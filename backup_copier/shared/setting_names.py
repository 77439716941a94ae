"""Which configuration keys are ours misspelt: refused, naming the key meant, instead of ignored.

An unknown key cannot simply be an error. Fn passes an application's configuration to every
function in it, and the container's environment also holds Fn's and OCI's own variables
(FN_FN_ID, OCI_RESOURCE_PRINCIPAL_RPST, PATH, ...). But a key one slip away from ours is
almost surely ours, and ignoring it does the opposite of what the operator asked: DRYRUN=true
copied for real, REQUIRED_FREEFORM_TAGS copied untagged backups. A key is a near miss when,
compared in capitals without underscores or hyphens, it is:

- one of ours (DRYRUN, dry_run);
- one of ours with a final S added or removed (METRIC, DRY_RUNS);
- within an edit of one of ours for a key of 6 to 11 letters, two edits from 12 letters on
  (MAX_CONCURENCY); a shorter key gets none, so REGION, DEBUG or TIMEOUT never match;
- a per-region key's prefix, misspelt or bare, then a region (KMS_KEYID_US_ASHBURN_1, KMS_KEY_ID).

The known keys come from the caller (settings.py reads them from the Settings model and its
per-region families), so a setting added there is covered here with no list to update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .regions import normalise_region, realm_of

# Letters per allowed edit: one edit in a key of 6 to 11 letters, two from 12 (see _allowed_edits).
_LETTERS_PER_EDIT = 6
_MAX_EDITS = 2
_NOT_LETTERS = re.compile(r"[^A-Z0-9]")
REGION_PLACEHOLDER = "<REGION>"


def region_key(prefix: str, region: str) -> str:
    """`KMS_KEY_ID_` and `us-ashburn-1` -> `KMS_KEY_ID_US_ASHBURN_1`: how every per-region key is spelt."""
    return prefix + region.upper().replace("-", "_")


def edit_distance(typed: str, known: str, limit: int | None = None) -> int:
    """Levenshtein distance, counting a swap of two neighbouring letters as one edit (DYR_RUN).

    With `limit`, stops as soon as the distance must exceed it and answers limit + 1: no row's
    smallest value is less than the row above's, and most keys are far from ours."""
    previous2: list[int] = []
    previous = list(range(len(known) + 1))
    for i, a in enumerate(typed, 1):
        current = [i]
        for j, b in enumerate(known, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == known[j - 2] and typed[i - 2] == b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        if limit is not None and min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _letters(key: str) -> str:
    return _NOT_LETTERS.sub("", key.upper())


def _allowed_edits(letters: int) -> int:
    return min(letters // _LETTERS_PER_EDIT, _MAX_EDITS)


def distance(typed: str, known: str) -> int | None:
    """How far `typed` is from the key `known`, when it is a near miss of it; None when it is not."""
    return _near(_letters(typed), _letters(known))


def _near(typed: str, known: str) -> int | None:
    """`distance`, on keys already reduced to their letters."""
    if typed == known:
        return 0
    if typed + "S" == known or typed == known + "S":
        return 1
    allowed = _allowed_edits(len(known))
    if abs(len(typed) - len(known)) > allowed:
        return None
    edits = edit_distance(typed, known, limit=allowed)
    return edits if edits <= allowed else None


@dataclass(frozen=True)
class KnownKeys:
    """The keys that are ours: fixed names, and families of `<prefix><REGION>`, one per destination."""

    names: frozenset[str]
    prefixes: tuple[str, ...]
    # The destination regions, when DESTINATION_REGION reads: they name the per-region key meant.
    destinations: tuple[str, ...] = ()

    def is_ours(self, key: str) -> bool:
        return key in self.names or key.startswith(self.prefixes)

    def near_miss(self, key: str) -> str | None:
        """The key `key` was meant to be, or None: it is ours, or unlike any of ours."""
        if self.is_ours(key):
            return None
        typed = _letters(key)
        found = [(edits, meant) for known, meant in self._candidates if (edits := _near(typed, known)) is not None]
        if found:
            return min(found, key=lambda pair: pair[0])[1]
        return self._misspelt_prefix(key)

    def other_region(self, key: str, prefix: str) -> str | None:
        """The region a `<prefix><REGION>` key names, when the SDK knows it and it is not a destination:
        then the key is spelt right, and DESTINATION_REGION is what lacks it."""
        named = normalise_region(key[len(prefix) :].replace("_", "-"))
        # realm_of: a region the SDK knows, not a name merely shaped like one (US_ASHBURM_1).
        if named is None or named in self.destinations or realm_of(named) is None:
            return None
        return named

    def region_key_meant(self, key: str, prefix: str) -> str:
        """For `<prefix><REGION>` naming no destination: the destination's key meant."""
        suffix = key[len(prefix) :]
        named = normalise_region(suffix.replace("_", "-"))
        if named in self.destinations:
            # A short code or another spelling of a destination: KMS_KEY_ID_IAD.
            return region_key(prefix, named)
        return self._closest_destination_key(prefix, suffix)

    @cached_property
    def _candidates(self) -> list[tuple[str, str]]:
        """(the letters a typed key is compared with, the key it then means), built once."""
        pairs = [(name, name) for name in sorted(self.names)]
        for prefix in self.prefixes:
            # The bare prefix: KMS_KEY_ID set without a region.
            if prefix.rstrip("_") not in self.names:
                pairs.append((prefix.rstrip("_"), self._example(prefix)))
            pairs += [(region_key(prefix, region), region_key(prefix, region)) for region in self.destinations]
        return [(_letters(known), meant) for known, meant in pairs]

    def _misspelt_prefix(self, key: str) -> str | None:
        """A misspelt prefix, then a region name or short code: KMS_KEYID_IAD -> KMS_KEY_ID_US_ASHBURN_1."""
        for cut in (index for index, letter in enumerate(key) if letter == "_"):
            head, tail = key[:cut], key[cut + 1 :]
            region = normalise_region(tail.replace("_", "-"))
            if region is None:
                continue
            for prefix in self.prefixes:
                if distance(head, prefix.rstrip("_")) is not None:
                    return region_key(prefix, region)
        return None

    def _example(self, prefix: str) -> str:
        return region_key(prefix, self.destinations[0]) if self.destinations else prefix + REGION_PLACEHOLDER

    def _closest_destination_key(self, prefix: str, suffix: str) -> str:
        if not self.destinations:
            return prefix + REGION_PLACEHOLDER
        return min(
            (region_key(prefix, region) for region in self.destinations),
            key=lambda meant: edit_distance(_letters(suffix), _letters(meant[len(prefix) :])),
        )
