"""Sending on a paramiko channel without racing the server's CHANNEL_CLOSE.

When a remote command exits, OpenSSH sends CHANNEL_CLOSE, paramiko's transport thread
marks the channel closed and answers with its own CLOSE, and the server frees the
channel. Any later message naming that channel makes OpenSSH drop the *whole connection*
("data packet referred to nonexistent channel", "ieof packet referred to ..."), failing
every other command on the host.

paramiko's own `send()` and `shutdown_write()` check "not closed" under the channel lock
but send after releasing it, so a command that exits without reading its stdin (`echo`
given input) lets the transport thread's CLOSE overtake our DATA or EOF. Here the check
and the send happen under the transport's send lock, which the transport thread also
needs to send its CLOSE: whatever passed the check reaches the socket first.
"""

from __future__ import annotations

import time

from runbook_engine.connection.paramiko_loader import paramiko  # isort: skip
from paramiko.common import cMSG_CHANNEL_DATA, cMSG_CHANNEL_REQUEST

_CHUNK = 32768  # paramiko's own upper bound per DATA message


def transport_died(transport: paramiko.Transport | None) -> bool:
    """True once the connection is gone. paramiko closes the channels of a dying transport
    before it marks itself inactive, but records why it died first."""
    return transport is None or not transport.is_active() or transport.saved_exception is not None


def send_data(channel: paramiko.Channel, data: bytes | memoryview) -> None:
    """channel.sendall(), ordered before the transport thread's CLOSE. Raises OSError if
    the channel is closed (or EOF was sent) first, as sendall does."""
    view = memoryview(data)
    while view:
        with channel.lock:
            # Reserves window space: waits (lock released) while the server's window is full.
            size = channel._wait_for_send_window(min(len(view), _CHUNK))
        if size == 0:
            raise OSError("Socket is closed")
        message = paramiko.Message()
        message.add_byte(cMSG_CHANNEL_DATA)
        message.add_int(channel.remote_chanid)
        message.add_string(bytes(view[:size]))
        if not _send_unless_closed(channel, message):
            raise OSError("Socket is closed")
        view = view[size:]


def send_eof(channel: paramiko.Channel) -> None:
    """channel.shutdown_write(), ordered before the transport thread's CLOSE; nothing to do
    once the channel is closed (the command is over) or the connection died."""
    if transport_died(channel.get_transport()):
        return
    with channel.lock:
        if channel.closed or channel.eof_sent:
            return
        message = channel._send_eof()  # marks EOF sent; None if the channel just closed
    if message is not None:
        _send_unless_closed(channel, message)


def exec_nowait(channel: paramiko.Channel, command: str) -> None:
    """channel.exec_command() without waiting for the server's reply: saves a round trip
    per command, and paramiko's wait has no timeout (a frozen host would hang it). A
    refusal closes the channel, which `exec_refused` tells apart afterwards."""
    message = paramiko.Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("exec")
    message.add_boolean(True)
    message.add_string(command)
    channel._event_pending()
    channel.get_transport()._send_user_message(message)


def exec_refused(channel: paramiko.Channel) -> bool:
    return channel.event.is_set() and not channel.event_ready


def _send_unless_closed(channel: paramiko.Channel, message: paramiko.Message) -> bool:
    """Send `message` unless the channel is closed; False if it was. Like paramiko's
    `_send_user_message`: waits out a key exchange, never holding the send lock meanwhile."""
    transport = channel.get_transport()
    give_up = time.monotonic() + transport.clear_to_send_timeout
    while True:
        transport.clear_to_send.wait(0.1)
        if not transport.is_active():
            return False
        with transport.clear_to_send_lock:
            if transport.clear_to_send.is_set():
                # The transport thread sets `closed` before it sends its CLOSE, and needs
                # this lock to send it: if not closed now, our message goes first.
                if channel.closed:
                    return False
                try:
                    transport._send_message(message)
                except (OSError, EOFError):
                    return False  # the connection died: reading the exit status says so
                return True
        if time.monotonic() > give_up:
            raise paramiko.SSHException("Key-exchange timed out waiting for key negotiation")
