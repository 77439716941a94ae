"""The runtime's floor: an fdk function that answers a constant and imports nothing else.

Its cold start is the fdk's own; its warm round trip is the Fn socket's own cost.
"""

import io

from fdk import context, response


def handler(ctx: context.InvokeContext, data: io.BytesIO | None = None) -> response.Response:
    return response.Response(ctx, response_data="ok", headers={"Content-Type": "text/plain"})
