"""The cheap look-back: a ``COUNT()`` of the overlap window instead of reading it again.

Each poll must see the records committed late with a stamp inside the overlap window
behind the cursor. Reading the window again does it, at a page per 2,000 records; right
after a large import that is every poll, for minutes. When the window is large, a poll
of ``new_record`` instead sends, in ONE composite call and in this order:

1. ``q``: the records strictly after the cursor ``P`` (what is new), and
2. ``c``: ``SELECT COUNT() FROM X WHERE CreatedDate >= low`` through ``queryAll``
   (``low = P.ts - overlap``, with the ``start="now"`` floor if it applies),

and compares ``c`` with ``H``, the number of distinct records with a stamp at or after
``low`` that this zap has read (kept in the cursor as counts per stamp, :class:`Seen`).
They are equal: nothing unseen, the poll is done. They differ: the window is read
again, as before, and ``H`` is counted afresh from that read.

Why equal counts mean nothing was missed (``new_record``, no ``where``)
-------------------------------------------------------------------------
Let ``T`` be the records with ``CreatedDate >= low`` when ``c`` runs, deleted ones
included (``queryAll`` counts the recycle bin), so ``c = |T|``. ``H`` counts records
that were each read once (one read per record: the window read counts each record it
returns once; ``q`` returns only records after ``P``, never read before, because
``CreatedDate`` never changes and every earlier read stopped at or before ``P``). Each
was read before ``c`` ran (``q`` runs before ``c`` in the same call; when ``q`` takes more
than one page the comparison is skipped and the next poll's count decides). A record
read still exists when ``c`` runs and still has its ``CreatedDate``, so ``H ⊆ T`` and
``c - H = |T \\ H|``: the records of the window never read. Equal counts, therefore,
mean no record of the window is unread: every late commit that a re-read would find
has been read. ``H`` is saved in the cursor in the same transaction as the records'
delivery, so a crash loses ``H`` together with the records (never one without the
other), and a half-counted ``H`` only ever counts fewer records than were read, which
makes the counts differ and the window be read again.

Where it is not sound, and the window is read again instead
-----------------------------------------------------------
- **A ``where`` condition** on a field that can change: a record read can leave the
  counted set by an edit while a late commit enters it, and the counts stay equal.
  Zaps with ``where`` keep re-reading the window.
- **``updated_record``** (``SystemModstamp``): a record read at stamp ``s1`` and updated
  again in a transaction that commits late with a stamp ``s2`` at or before ``P`` stays
  one record in ``T``, and ``H`` counts it once: equal counts, an update missed. A count
  by stamp (``GROUP BY SystemModstamp``) would see it, since stamps only move forward,
  but aggregate queries cannot be paged past 2,000 groups. ``updated_record`` keeps
  re-reading the window.
- **Hard deletes** (``hardDelete`` or emptying the recycle bin) of records read inside
  the window between two polls, in the same poll interval as as many late commits: the
  counts cancel. Soft deletes do not (``queryAll`` still counts them).

The counts are kept per stamp (milliseconds since the epoch) so ``H`` can be summed
from any ``low``; a window of more than :data:`MAX_STAMPS` distinct stamps is not
counted (``Seen`` unknown) and is read again instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["MAX_STAMPS", "Seen", "stamp_ms"]

MAX_STAMPS = 2000
"""Distinct stamps the cursor keeps counts for; a window with more is read again instead."""


def stamp_ms(value: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return round(value.astimezone(UTC).timestamp() * 1000)


@dataclass
class Seen:
    """How many distinct records this zap has read per stamp, at and after the window's low."""

    counts: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, data: Any) -> Seen | None:
        """The JSON form (``{"<ms>": n}``), or ``None`` when absent or unreadable."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls({int(key): int(value) for key, value in data.items()})
        except (TypeError, ValueError):
            return None

    def dump(self) -> dict[str, int]:
        """JSON form, oldest stamp first."""
        return {str(key): self.counts[key] for key in sorted(self.counts)}

    def add(self, stamps: Iterable[datetime]) -> Seen | None:
        """These counts plus one record per stamp (``None`` when there are too many stamps)."""
        counts = dict(self.counts)
        for stamp in stamps:
            key = stamp_ms(stamp)
            counts[key] = counts.get(key, 0) + 1
        if len(counts) > MAX_STAMPS:
            return None
        return Seen(counts)

    def since(self, low: datetime) -> Seen:
        """Only the counts of stamps at or after ``low``."""
        edge = stamp_ms(low)
        return Seen({key: n for key, n in self.counts.items() if key >= edge})

    def total(self) -> int:
        """Records counted."""
        return sum(self.counts.values())
