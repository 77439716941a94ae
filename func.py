"""OCI Functions entry point: wiring only. The logic lives in the backup_copier package."""

import io
import json

from fdk import context, response

from backup_copier import invocation


def handler(ctx: context.InvokeContext, data: io.BytesIO | None = None) -> response.Response:
    body = data.getvalue() if data is not None else b""
    result = invocation.run(ctx.CallID(), ctx.Deadline(), body)
    return response.Response(
        ctx,
        response_data=json.dumps(result.to_json()),
        headers={"Content-Type": "application/json"},
        status_code=result.http_status,
    )
