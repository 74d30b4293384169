"""The request-body limit: a body larger than the setting is answered 413 before it is read
whole, whether it announces its length or streams it (chunked)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: 413 ``payload_too_large`` for bodies over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        over = False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Stop reading. The app sees the client go away mid-body, so it can never
                    # act on a cut body (a prefix may be valid JSON); `answered` swaps its
                    # error answer for the 413.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        refused = False

        async def answered(message: Message) -> None:
            nonlocal refused
            if not over:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send)

        await self.app(scope, counted, answered)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "code": "payload_too_large",
                "message": f"the request body is over {self.limit} bytes",
                "details": {"limit": self.limit},
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
