"""uvicorn's httptools protocol, writing each response's header block and first body part in one system call.

uvicorn writes the status line and headers (`http.response.start`) and then the body as two socket writes:
two packets, and two wake-ups of the reader (the load balancer, or the client) per response. Holding the
header block until the body's first part follows it sends both at once; on this machine that was measured
side by side in benchmarks/app_benchmark.py (app/README.md "Performance"). Nothing else changes: interim
`100 Continue` answers and whole responses (uvicorn's own 400s) go out at once, and a held header block is
written before the connection closes.
"""

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """The connection's transport, holding a response's header block until the next write."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.held is not None:
            data, self.held = self.held + bytes(data), None
        elif _header_block(data):
            self.held = bytes(data)
            return
        self.transport.write(data)

    def writelines(self, parts: Iterable[bytes]) -> None:
        """Through `write`, so a held header block still goes first."""
        self.write(b"".join(parts))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def flush(self) -> None:
        held, self.held = self.held, None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)

    def __getattr__(self, name: str) -> Any:
        """Everything else (flow control, addresses, is_closing, abort) is the transport's own."""
        return getattr(self.transport, name)


def _header_block(data: bytes | bytearray | memoryview) -> bool:
    """A final response's status line and headers, without body (never an interim 1xx answer)."""
    head = bytes(data[:13])
    return head.startswith(b"HTTP/1.1 ") and head[9:10] != b"1" and bytes(data[-4:]) == b"\r\n\r\n"


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.run(http=CoalescingHttpToolsProtocol)`: httptools parsing, coalesced response writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]
