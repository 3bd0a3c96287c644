"""ReadAheadSocket: paramiko's reads served from one recv() of everything that arrived."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from runbook_engine.connection.read_ahead import CHUNK, ReadAheadSocket


@pytest.fixture
def pair() -> Iterator[tuple[ReadAheadSocket, socket.socket]]:
    """(our end, wrapped; the peer's end) of a loopback TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        ours = socket.create_connection(server.getsockname(), timeout=2)
        peer, _ = server.accept()
    wrapped = ReadAheadSocket(ours)
    yield wrapped, peer
    wrapped.close()
    peer.close()


def _kernel_has_data(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        out += sock.recv(n - len(out))
    return out


def test_small_reads_return_the_stream_in_order_from_one_read(
    pair: tuple[ReadAheadSocket, socket.socket],
) -> None:
    ours, peer = pair
    packets = [bytes([i]) * size for i, size in enumerate((16, 40, 16, 300, 16, 7))]
    peer.sendall(b"".join(packets))
    first = _read_exactly(ours, 16)
    # The first small read took everything that had arrived: nothing is left to read in
    # the kernel, and the rest comes from what was read ahead, in order.
    assert first == packets[0]
    assert not _kernel_has_data(ours)
    rest = b"".join(_read_exactly(ours, len(p)) for p in packets[1:])
    assert rest == b"".join(packets[1:])


def test_a_read_larger_than_what_was_read_ahead_returns_what_is_there(
    pair: tuple[ReadAheadSocket, socket.socket],
) -> None:
    ours, peer = pair
    peer.sendall(b"a" * 10 + b"b" * 10)
    assert _read_exactly(ours, 5) == b"aaaaa"
    assert ours.recv(100) == b"aaaaabbbbbbbbbb"  # no waiting for more once some is there
    peer.sendall(b"next")
    assert ours.recv(100) == b"next"


def test_bulk_data_larger_than_a_chunk_arrives_whole(
    pair: tuple[ReadAheadSocket, socket.socket],
) -> None:
    ours, peer = pair
    data = bytes(range(256)) * (3 * CHUNK // 256 + 7)
    peer.sendall(data)
    got = b""
    while len(got) < len(data):
        got += _read_exactly(ours, min(4, len(data) - len(got)))
        got += _read_exactly(ours, min(32768, len(data) - len(got)))
    assert got == data


def test_timeout_and_end_of_stream_are_the_sockets(
    pair: tuple[ReadAheadSocket, socket.socket],
) -> None:
    ours, peer = pair
    assert isinstance(ours, socket.socket)  # ssh.py's keepalive and shutdown code needs it
    ours.settimeout(0.05)
    with pytest.raises(TimeoutError):  # paramiko's transport thread relies on this
        ours.recv(16)
    peer.sendall(b"last words")
    peer.shutdown(socket.SHUT_WR)
    assert _read_exactly(ours, 4) == b"last"
    assert _read_exactly(ours, 6) == b" words"
    assert ours.recv(16) == b""


def test_options_and_timeout_of_the_original_socket_are_kept() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        plain = socket.create_connection(server.getsockname(), timeout=1.5)
        plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer, _ = server.accept()
        wrapped = ReadAheadSocket(plain)
        try:
            assert plain.fileno() == -1  # taken over, not duplicated
            assert wrapped.gettimeout() == 1.5
            assert wrapped.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert wrapped.getpeername() == peer.getsockname()
        finally:
            wrapped.close()
            peer.close()
