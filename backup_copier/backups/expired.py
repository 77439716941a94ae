"""An expiry the function carried out is final: a source whose copy in a region expired is not copied there again.

When the expiry pass deletes a copy, it records that on the copy's source backup
(backup-copier-expired-in-<region> names the copy; marker.record_expiry). Without the record,
the next sweep or a redelivered event finds the source uncopied and copies it again: a full
cross-region transfer nobody asked for, and a copy-delete-copy cycle whenever the copy's expiry
and today's rule disagree (an operator set the expiry to a past time; the region's retention was
lengthened after the copy was marked). So the sweep, the event path and the manual re-drive skip
such a (source, region) with CopyExpired, and the sentence says how to copy it again on purpose.

A copy deleted by anyone else (by hand, not through its mark) leaves no record: its source is
copied again, as it should be. The record is written just after the deletion; a run that reads
the source in the instant between the two may still copy it once. If the record could not be
written, the expiry pass's answer says so (recordFailures), and that source may be copied again.
"""

from __future__ import annotations

from typing import Any

from .marks import EXPIRY_RECORD

COPY_EXPIRED = "CopyExpired"


def copy_expired(backup: Any, region: str) -> str | None:
    """Why `backup` is not to be copied into `region` again, or None when nothing says so."""
    copy_id = EXPIRY_RECORD.copy_in(backup, region)
    if copy_id is None:
        return None
    key = EXPIRY_RECORD.key(region)
    return (
        f"its copy in {region} ({copy_id}) reached its expiry and the expiry pass deleted it, as its {key} tag "
        "records; an expiry the function carried out is final, so it is not copied there again. To copy it again "
        f'on purpose, remove {key} from this backup\'s freeform tags, then re-drive it ({{"backupId": ...}}) or let '
        "the reconcile sweep copy it."
    )
