"""CoalescingTransport over a real socket: a turn's writes leave as one, nothing is lost."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from podium.serve.transport import HOLD_LIMIT, CoalescingTransport

Check = Callable[[CoalescingTransport, list[bytes], socket.socket], Awaitable[None]]


def run_over_socket(check: Check) -> None:
    """Run ``check`` with a CoalescingTransport over one end of a real socket pair, the
    list of what reached the real transport's ``write`` and the other end."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _protocol = await loop.create_connection(asyncio.Protocol, sock=ours)
        real_write = transport.write
        written: list[bytes] = []

        def counted(data: bytes | bytearray | memoryview) -> None:
            written.append(bytes(data))
            real_write(data)

        transport.write = counted  # type: ignore[method-assign]
        try:
            await check(CoalescingTransport(transport, loop), written, theirs)  # type: ignore[arg-type]
        finally:
            transport.close()
            theirs.close()

    asyncio.run(main())


async def read_all(peer: socket.socket) -> bytes:
    """Everything the peer receives until the connection closes (the loop keeps running,
    so the transport can send what it buffered and close)."""
    loop = asyncio.get_running_loop()
    peer.setblocking(False)
    received = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(peer, 65536), 30):
        received += chunk
    return received


def test_writes_of_one_turn_leave_as_one() -> None:
    async def check(held: CoalescingTransport, written: list[bytes], peer: socket.socket) -> None:
        held.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n")
        held.write(memoryview(b"{}"))
        assert written == [] and held.get_write_buffer_size() == 45
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert written == [b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"]
        held.write(b"next")
        held.close()  # what is held goes out before the connection closes
        assert await read_all(peer) == written[0] + b"next"

    run_over_socket(check)


def test_a_large_write_is_not_held() -> None:
    async def check(held: CoalescingTransport, written: list[bytes], peer: socket.socket) -> None:
        held.write(b"head")
        held.write(b"x" * HOLD_LIMIT)
        assert written == [b"head" + b"x" * HOLD_LIMIT]
        await asyncio.sleep(0)
        held.close()
        assert len(await read_all(peer)) == 4 + HOLD_LIMIT

    run_over_socket(check)


def test_abort_drops_what_is_held() -> None:
    async def check(held: CoalescingTransport, written: list[bytes], peer: socket.socket) -> None:
        held.write(b"never sent")
        held.abort()
        await asyncio.sleep(0)
        assert written == [] and held.get_write_buffer_size() == 0
        assert await read_all(peer) == b""

    run_over_socket(check)
