"""Compute's ListVolumeAttachments and ListBootVolumeAttachments, on the same port as Block Storage.

OCI serves them at https://iaas.<region>.oraclecloud.com/20160918/... (ComputeClient); here they
are http://127.0.0.1:<port>/compute/<region>/20160918/volumeAttachments and
/bootVolumeAttachments, which the function's COMPUTE_ENDPOINT names in tests
(`.../compute/{region}`, Emulator.compute_endpoint_template). The attachments are the ones tests
make (Emulator.attach; attachments.py). What SDK 2.189's compute_client.py sends, and the
emulator checks:
- ListVolumeAttachments: compartmentId required; availabilityDomain, instanceId, volumeId filters;
- ListBootVolumeAttachments: availabilityDomain AND compartmentId required; instanceId and
  bootVolumeId filters;
- both: limit and page, paged as Block Storage pages (operations.py), oldest attachment first
  (the order is *unconfirmed*); a missing parameter answers 400 MissingParameter.
Both list one compartment: an attachment made from an instance in another compartment is not
in the volume's compartment's listing, while Block Storage still refuses to delete the volume.
A compartment the caller has no policy in (Emulator.deny_compartment) answers 404.
"""

from __future__ import annotations

from . import errors
from .attachments import Attachments
from .faults import CompartmentDenials, LatencyPlan
from .operations import Reply, next_page, paging
from .read_service import ReadService, ReadServiceFront
from .signature import TrustStore

PREFIX = "/compute/"
LIST_VOLUME_ATTACHMENTS = "list_volume_attachments"
LIST_BOOT_VOLUME_ATTACHMENTS = "list_boot_volume_attachments"
OPERATIONS = (LIST_VOLUME_ATTACHMENTS, LIST_BOOT_VOLUME_ATTACHMENTS)


class ComputeService(ReadServiceFront):
    def __init__(
        self,
        trust: TrustStore,
        attachments: Attachments,
        *,
        latency: LatencyPlan | None = None,
        compartments: CompartmentDenials | None = None,
    ) -> None:
        self.attachments = attachments
        self.denials = compartments or CompartmentDenials()
        self.service = ReadService(
            prefix=PREFIX,
            routes={
                "/20160918/volumeAttachments": (
                    LIST_VOLUME_ATTACHMENTS,
                    lambda region, query: self._list(region, query, boot=False),
                ),
                "/20160918/bootVolumeAttachments": (
                    LIST_BOOT_VOLUME_ATTACHMENTS,
                    lambda region, query: self._list(region, query, boot=True),
                ),
            },
            default_operation=LIST_VOLUME_ATTACHMENTS,
            trust=trust,
            latency=latency or LatencyPlan(),
        )

    def _list(self, region: str, query: dict[str, str], *, boot: bool) -> Reply:
        required = ("availabilityDomain", "compartmentId") if boot else ("compartmentId",)
        missing = [name for name in required if not query.get(name)]
        if missing:
            raise errors.MissingParameter(f"Missing required parameter: {' and '.join(missing)}")
        if self.denials.denies(query["compartmentId"]):
            raise errors.NotAuthorizedOrNotFound()
        limit, offset = paging(query)
        names = ("availabilityDomain", "compartmentId", "instanceId", "bootVolumeId" if boot else "volumeId")
        found = self.attachments.matching(region, boot, {name: query[name] for name in names if name in query})
        page = found[offset : offset + limit]
        return Reply(
            200,
            [attachment.to_json() for attachment in page],
            next_page(offset, limit, more=offset + limit < len(found)),
        )
