"""SSH connection: paramiko, with Fabric for hosts behind jump hosts (`ssh_gateway`).

One transport per host for the whole run. Commands run one after another in a long-lived
remote shell (`session_shell`), or on a channel of their own opened directly on the
transport (streams, large stdin, background jobs, a second command while the shell is
busy). Fabric's `run()` machinery (a channel, watcher threads and config merging per
command) costs milliseconds per command that a run of thousands of tasks would feel.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from runbook_engine.connection.paramiko_loader import paramiko  # isort: skip
from paramiko.hostkeys import HostKeyEntry

from runbook_engine.connection import session_shell
from runbook_engine.connection.base import CommandResult, wait_readable
from runbook_engine.connection.read_ahead import ReadAheadSocket
from runbook_engine.connection.settings import (  # noqa: F401 (callers import these here)
    HostKeyChecking,
    JumpHost,
    SSHSettings,
)
from runbook_engine.connection.ssh_channel import (
    exec_nowait,
    exec_refused,
    send_data,
    send_eof,
    transport_died,
)
from runbook_engine.errors import HostUnreachable

USER_KNOWN_HOSTS = "~/.ssh/known_hosts"
_READ_SIZE = 65536
# Below this size stdin is written before reading output: it fits in the server's
# channel window (OpenSSH: 2 MB), so the write cannot block on an unread stdout.
_INLINE_STDIN = 256 * 1024
# The remote shell reports its PID first (on stderr) so a timed-out command's whole
# process group can be killed; this marker tells that line apart from the command's.
_PID_MARK = b"\x00rbpid:"
# OpenSSH's default MaxSessions: more concurrent channels on one connection are refused.
MAX_CHANNELS = 10
# paramiko's transport thread reads its socket with a 0.1 s timeout and wakes up (taking
# the GIL) at every expiry, even when the connection is idle: ~0.3-0.6 ms of CPU per
# connection per second, most of the CPU of a many-host run. Once connected, the thread
# wakes this often instead. Nothing of ours depends on that wake-up: command timeouts are
# kept by the reading thread (`_collect`), closing shuts the socket down first (which
# wakes the thread at once), and keepalives (every `keepalive_interval` >= 1 s of
# silence) are sent at most this much later, never later than one more interval. Each
# wake-up costs ~0.15 ms of CPU: at 1 s, 500 idle connections took 75 ms of every second.
_IDLE_POLL = 5.0


# -- host keys -------------------------------------------------------------------


def _known_hosts_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def _key_description(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class UnknownHostKey(paramiko.SSHException):
    pass


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    def __init__(self, settings: SSHSettings) -> None:
        self._settings = settings

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey):
        file = self._settings.known_hosts_file or USER_KNOWN_HOSTS
        address, port = hostname, ""
        if hostname.startswith("["):  # "[address]:port", the known_hosts form
            address, _, port_text = hostname[1:].partition("]:")
            port = f"-p {port_text} "
        key_type = key.get_name().removeprefix("ssh-")
        raise UnknownHostKey(
            f"host key of {hostname} is not known ({_key_description(key)}). "
            f"After checking that fingerprint out of band, trust it with: "
            f"ssh-keyscan {port}-t {key_type} {shlex.quote(address)} >> {file} "
            f"(or set runbook_host_key_checking: accept-new to record it on first use)"
        )


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Record an unknown key, like OpenSSH's StrictHostKeyChecking=accept-new. A changed
    key never reaches this policy: paramiko raises BadHostKeyException first."""

    _file_lock = threading.Lock()

    def __init__(self, settings: SSHSettings) -> None:
        self._path = Path(os.path.expanduser(settings.known_hosts_file or USER_KNOWN_HOSTS))

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey):
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        with self._file_lock:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._path.open("a") as f:
                f.write(line)
        client.get_host_keys().add(hostname, key.get_name(), key)


class _AcceptAny(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey):
        return None


_T = TypeVar("_T")
_parsed: dict[str, tuple[tuple[object, ...], object]] = {}
_parsed_lock = threading.Lock()
_parsing_locks: dict[str, threading.Lock] = {}


def _file_version(path: str) -> tuple[object, ...]:
    try:
        stat = os.stat(path)
    except OSError:
        return (path, None)
    return (path, stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _parsed_once(kind: str, paths: Sequence[str], parse: Callable[[], _T]) -> _T:
    """`parse()` once per version (mtime, size, inode) of the files it reads, not once per
    connection; only the newest version is kept. What it returns is shared between
    connections, so it must only be read. Threads that want the same files while they
    are being parsed wait for that parse (a run's first connections all start at once)."""
    name = f"{kind}:{':'.join(paths)}"
    with _parsed_lock:
        parsing = _parsing_locks.setdefault(name, threading.Lock())
    with parsing:
        version = tuple(_file_version(p) for p in paths)
        cached = _parsed.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]  # type: ignore[return-value]
        value = parse()
        with _parsed_lock:
            _parsed[name] = (version, value)
        return value


@dataclasses.dataclass(frozen=True)
class _KnownHosts:
    """A parsed known_hosts file, indexed by host name."""

    entries: list[HostKeyEntry]
    by_name: dict[str, list[int]]  # a plain (not hashed) name -> its entries' positions
    hashed: list[int]  # positions of entries with a hashed name (`|1|salt|hash`)

    @classmethod
    def parse(cls, path: Path) -> _KnownHosts:
        keys = paramiko.HostKeys()
        keys.load(str(path))
        by_name: dict[str, list[int]] = {}
        hashed: list[int] = []
        for position, entry in enumerate(keys._entries):
            for name in entry.hostnames:
                if name.startswith("|1|"):
                    hashed.append(position)
                else:
                    by_name.setdefault(name, []).append(position)
        return cls(keys._entries, by_name, hashed)

    def entries_for(self, name: str) -> list[HostKeyEntry]:
        """The entries paramiko's `HostKeys.lookup(name)` would find, in file order."""
        positions = set(self.by_name.get(name, ()))
        if self.hashed:
            matcher = paramiko.HostKeys()
            positions.update(
                p for p in self.hashed if matcher._hostname_matches(name, self.entries[p])
            )
        return [self.entries[p] for p in sorted(positions)]


def _load_known_hosts(keys: paramiko.HostKeys, path: Path, name: str) -> None:
    """`keys.load(path)` into an empty HostKeys, keeping only the entries for `name` (the
    host as paramiko looks it up). paramiko's load is quadratic in the file's lines and
    its lookup, ~20 per connection, scans every entry (hashing each hashed name): with
    every host in one known_hosts file, ~4.5 ms per connection at 50 lines. Here the file
    is parsed once per run and indexed. A policy only adds entries for names not yet
    known, so sharing the entries is safe."""
    parsed = _parsed_once("known_hosts", [str(path)], lambda: _KnownHosts.parse(path))
    keys._entries = parsed.entries_for(name)


def configure_host_keys(
    client: paramiko.SSHClient, settings: SSHSettings, host: str, port: int
) -> None:
    """Host key checking for `client`, which will connect to `host`:`port`."""
    if settings.host_key_checking == "off":
        client.set_missing_host_key_policy(_AcceptAny())
        return
    name = _known_hosts_name(host, port)
    user_file = Path(os.path.expanduser(USER_KNOWN_HOSTS))
    if user_file.exists():
        # what load_system_host_keys fills
        _load_known_hosts(client._system_host_keys, user_file, name)
    if settings.known_hosts_file:
        inventory_file = Path(os.path.expanduser(settings.known_hosts_file))
        if inventory_file.exists():
            _load_known_hosts(client.get_host_keys(), inventory_file, name)
    if settings.host_key_checking == "accept-new":
        client.set_missing_host_key_policy(_AcceptNew(settings))
    else:
        client.set_missing_host_key_policy(_RefuseUnknown(settings))


# -- connecting ------------------------------------------------------------------


def _resolvable(address: str) -> str | bytes:
    """An ASCII name or address as bytes: getaddrinfo() encodes a str with the `idna`
    codec, whose first use imports encodings.idna, stringprep and unicodedata (~3-10 ms
    of CPU) for names that need no encoding. Other names stay str (IDNA applies)."""
    return address.encode("ascii") if address.isascii() else address


def tcp_connect(address: str, port: int, timeout: float, alive_interval: int) -> socket.socket:
    sock = ReadAheadSocket(
        socket.create_connection((_resolvable(address), port), timeout=timeout)  # type: ignore[arg-type]
    )
    # paramiko leaves Nagle on: every small request would wait for the previous ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if alive_interval > 0:
        # A host that goes silent mid-session (network black hole, powered off) breaks
        # the socket after about 4 intervals instead of hanging a command forever.
        probe_every = max(1, alive_interval // 3)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, alive_interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, probe_every)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        # ...and data (paramiko's keepalives included) unacknowledged that long, too.
        user_timeout_ms = (alive_interval + 3 * probe_every) * 1000
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_ms)
    return sock


# AEAD ciphers first: one AES-GCM call per packet instead of a cipher plus an HMAC, whose
# check paramiko does byte by byte in Python (~15% of a command's CPU here). The server
# still chooses among the rest if it offers no AEAD cipher.
_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    *(c for c in paramiko.Transport._preferred_ciphers if "-gcm@" not in c),
)


class _Packetizer(paramiko.Packetizer):
    """paramiko's packetizer with two changes, both on the controller's CPU.

    - Packets sent with an AEAD cipher are padded with zeros, as paramiko already does
      for the CTR ciphers (RFC 4344): in a counter mode no two packets share keystream,
      so random padding protects nothing. paramiko pads AES-GCM packets with
      `os.urandom`, a system call per packet sent, and with other hosts busy each call's
      GIL release can cost a thread switch (~6% of the worker threads' switches at 50
      hosts).
    - The handshake's time limit is a deadline that the reading loop checks, not a
      `threading.Timer`: paramiko starts a thread per connection for it (~0.25 ms of CPU
      to start, wake and end, of the ~9 ms a connection costs). The loop reads with a
      0.1 s timeout during the handshake, so it notices the deadline as soon as the
      timer's flag would have been seen.
    """

    # None until the handshake starts, then its deadline; 0.0 once it is done (never
    # again timed out, never restarted: paramiko's reading loop asks at every read).
    _handshake_deadline: float | None

    def set_outbound_cipher(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("aead"):  # paramiko passes it by name; if not, packets stay random
            kwargs["sdctr"] = True
        super().set_outbound_cipher(*args, **kwargs)

    def start_handshake(self, timeout: float) -> None:
        if self._handshake_deadline is None:  # the first handshake only, as paramiko does
            self._handshake_deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        deadline = self._handshake_deadline
        if not deadline:  # not started, or done
            return False
        return time.monotonic() > deadline

    def complete_handshake(self) -> None:
        if self._handshake_deadline is not None:
            self._handshake_deadline = 0.0


def _transport(*args: object, **kwargs: object) -> paramiko.Transport:
    transport = paramiko.Transport(*args, **kwargs)  # type: ignore[arg-type]
    transport._preferred_ciphers = _CIPHERS
    packetizer = transport.packetizer
    packetizer.__class__ = _Packetizer  # methods more; its one field is set just below
    packetizer._handshake_deadline = None
    return transport


_USER_SSH_CONFIG = "~/.ssh/config"
_SYSTEM_SSH_CONFIG = "/etc/ssh/ssh_config"


def parsed_ssh_config() -> paramiko.SSHConfig:
    """~/.ssh/config then /etc/ssh/ssh_config (the first value found wins), as Fabric
    reads them; parsed once per run instead of once per connection."""
    paths = [os.path.expanduser(_USER_SSH_CONFIG), _SYSTEM_SSH_CONFIG]

    def parse() -> paramiko.SSHConfig:
        config = paramiko.SSHConfig()
        for path in paths:
            if os.path.isfile(path):
                with open(path) as f:
                    config.parse(f)
        return config

    return _parsed_once("ssh_config", paths, parse)


def _private_key(path: str) -> paramiko.PKey | None:
    """The key in `path`, parsed once per run (paramiko would parse it for every
    connection, trying each key type in turn). None if it needs a passphrase or cannot be
    read: paramiko then tries the file itself, and explains a failure."""

    def parse() -> paramiko.PKey | None:
        try:
            return paramiko.PKey.from_path(path)
        except (paramiko.SSHException, OSError, ValueError):
            return None

    return _parsed_once("key", [path], parse)


def connect_kwargs(settings: SSHSettings, ssh_config_keys: Sequence[str] = ()) -> dict[str, object]:
    """What `SSHClient.connect` is given for one hop (besides address, user and socket)."""
    timeout = settings.connect_timeout
    kwargs: dict[str, object] = {
        "timeout": timeout,
        "banner_timeout": timeout,
        "auth_timeout": timeout,
        "channel_timeout": timeout,
        "look_for_keys": not settings.key_files,
        "allow_agent": True,
        "transport_factory": _transport,
    }
    keys = [os.path.expanduser(k) for k in settings.key_files + settings.extra_key_files]
    keys += [os.path.expanduser(k) for k in ssh_config_keys]
    first_key = _private_key(keys[0]) if keys else None
    if first_key is not None:
        kwargs["pkey"] = first_key  # tried first, as the first file would be
        keys = keys[1:]
    if keys:
        kwargs["key_filename"] = keys
    if settings.password is not None:
        kwargs["password"] = settings.password
    return kwargs


class Hop(Protocol):
    """One SSH connection on the way to a host: the host itself, or a jump host."""

    host: str
    port: int
    user: str | None
    client: paramiko.SSHClient

    @property
    def gateway(self) -> Hop | str | bool | None: ...

    def open(self) -> object: ...

    def close(self) -> None: ...


class _DirectHop:
    """A host reached without a jump host or ProxyCommand (most hosts): paramiko's
    SSHClient opened on our socket, with ssh_config's HostName, User and IdentityFile
    applied as Fabric applies them. No Fabric connection is built for it (that cost
    ~2.5 ms of CPU per host: invoke's config objects, merged per connection), and Fabric
    is not imported."""

    gateway = None

    def __init__(self, settings: SSHSettings, found: paramiko.SSHConfigDict) -> None:
        """`found`: what ssh_config says of the host."""
        self.host: str = found.get("hostname", settings.address)
        self.port = settings.port
        self.user: str | None = settings.user or found.get("user") or getpass.getuser()
        self._settings = settings
        self._kwargs = connect_kwargs(settings, found.get("identityfile", ()))
        self.client = paramiko.SSHClient()
        configure_host_keys(self.client, settings, self.host, self.port)

    def open(self) -> None:
        settings = self._settings
        sock = tcp_connect(self.host, self.port, settings.connect_timeout,
                           settings.keepalive_interval)
        try:
            self.client.connect(self.host, port=self.port, username=self.user, sock=sock,
                                **self._kwargs)  # type: ignore[arg-type]
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        self.client.close()


def _build_hops(settings: SSHSettings) -> Hop:
    """The target's hop; its `gateway` leads to the jump hosts, if any."""
    if not settings.jumps and not settings.proxy_command:
        found = parsed_ssh_config().lookup(settings.address)
        settings = _gateway_from_ssh_config(settings, found)
        if not settings.jumps and not settings.proxy_command:
            return _DirectHop(settings, found)
    # Fabric only for chains of jump hosts and ProxyCommand (imported when needed).
    from runbook_engine.connection import ssh_gateway

    return ssh_gateway.build_chain(settings)


def _gateway_from_ssh_config(settings: SSHSettings, found: paramiko.SSHConfigDict) -> SSHSettings:
    """ssh_config's ProxyJump or ProxyCommand for a host whose inventory names neither (as
    with OpenSSH, the first of the two in the file applies; `none` means none)."""
    for key in found:
        value = str(found[key]).strip()
        if key == "proxyjump" and (hops := JumpHost.parse_all(value)):
            return dataclasses.replace(settings, jumps=hops)
        if key == "proxycommand" and value.lower() != "none":
            return dataclasses.replace(settings, proxy_command=value)
    return settings


def _chain(target: Hop) -> list[Hop]:
    """The target's connection, then its jump hosts, last hop to first."""
    chain = [target]
    while (gateway := chain[-1].gateway) and not isinstance(gateway, str):
        chain.append(gateway)  # type: ignore[arg-type]
    return chain


def _quiet_idle(target: Hop, keepalive_interval: int) -> None:
    """Lengthen the read timeout of every hop's transport thread (see `_IDLE_POLL`)."""
    poll = min(_IDLE_POLL, keepalive_interval) if keepalive_interval > 0 else _IDLE_POLL
    for hop in _chain(target):
        transport = hop.client.get_transport()
        if transport is not None and isinstance(transport.sock, socket.socket):
            transport.sock.settimeout(poll)


def _close_chain(target: Hop) -> None:
    for hop in _chain(target):
        transport = hop.client.get_transport()
        if transport is not None and isinstance(transport.sock, socket.socket):
            # Wakes the transport thread blocked in recv() now (closing the descriptor
            # alone would not), so the connection ends at once, not after `_IDLE_POLL`.
            with contextlib.suppress(OSError):
                transport.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            hop.close()


def _explain(exc: BaseException, settings: SSHSettings, hop: Hop) -> str:
    """A message a person can act on, for a failure to connect to `hop`."""
    timeout = settings.connect_timeout
    user = f"{hop.user}@" if hop.user else ""
    where = f"{user}{hop.host}:{hop.port}"
    if hop.host != settings.address or hop.port != settings.port:
        where = f"jump host {where}"
    if hop.gateway and isinstance(exc, paramiko.ChannelException | paramiko.SSHException):
        text = str(exc)
        if isinstance(exc, paramiko.ChannelException) or "opening channel" in text:
            return f"the jump host could not reach {where}: {text or 'timed out'}"
    if isinstance(exc, UnknownHostKey):
        return str(exc)
    if isinstance(exc, paramiko.BadHostKeyException):
        file = settings.known_hosts_file or USER_KNOWN_HOSTS
        name = _known_hosts_name(exc.hostname, hop.port)
        return (
            f"HOST KEY CHANGED for {exc.hostname}: known {_key_description(exc.expected_key)}, "
            f"offered {_key_description(exc.key)}. Someone may be intercepting the "
            f"connection; if the change is expected, remove the old key with: "
            f"ssh-keygen -R {shlex.quote(name)} -f {file}"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        tried = ", ".join(settings.key_files) or "default keys and agent"
        password = " and password" if settings.password else ""
        return f"authentication failed for {where} (tried {tried}{password}): {exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {hop.host!r}: {exc.strerror}"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError):
        return f"connection refused by {where} (is sshd running and listening there?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"connection to {where} timed out after {timeout:g} s"
    if isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if "banner" in text or "No existing session" in text:
            return f"{where} accepted TCP but sent no SSH greeting within {timeout:g} s"
        return f"SSH error with {where}: {text}"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"cannot connect to {where}: {exc}"


# -- running commands ------------------------------------------------------------


def _remote_command(command: str) -> str:
    # Explicit /bin/sh: the same shell as the local connection, whatever the login shell.
    return f"printf '\\000rbpid:%s\\n' $$ >&2; exec /bin/sh -c {shlex.quote(command)}"


class _PidFilter:
    """Strips the remote PID report from the front of stderr."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._head = b""
        self._done = False

    def feed(self, data: bytes) -> bytes:
        if self._done:
            return data
        self._head += data
        head = self._head
        if not (head.startswith(_PID_MARK) or _PID_MARK.startswith(head)):
            self._done = True  # something printed before us (a login script): pass it on
            return head
        end = head.find(b"\n")
        if end < 0:
            return b""
        with contextlib.suppress(ValueError):
            self.pid = int(head[len(_PID_MARK) : end])
        self._done = True
        self._head = b""
        return head[end + 1 :]


class _StreamStdin(paramiko.channel.ChannelStdinFile):
    host = ""

    def _write(self, data: bytes) -> int:
        try:
            send_data(self.channel, data)
        except OSError as exc:
            if transport_died(self.channel.get_transport()):
                raise HostUnreachable(f"{self.host}: connection lost") from exc
            raise BrokenPipeError("the remote command stopped reading its input") from exc
        return len(data)

    def close(self) -> None:
        paramiko.channel.ChannelFile.close(self)
        send_eof(self.channel)


class SSHStream:
    """A command with streamed stdin/stdout on one channel (see base.Stream)."""

    def __init__(self, conn: SSHConnection, channel: paramiko.Channel) -> None:
        self._conn = conn
        self._channel = channel
        stdin = _StreamStdin(channel, "wb")
        stdin.host = conn.host
        self.stdin: BinaryIO = stdin  # type: ignore[assignment]
        self.stdout: BinaryIO = channel.makefile("rb")  # type: ignore[assignment]
        self._filter = _PidFilter()
        conn._running.add(self._filter)
        self._released = False
        self._stderr = bytearray()
        # Drain stderr concurrently: unread stderr would stop the window for stdout too.
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self) -> None:
        while True:
            data = self._channel.recv_stderr(_READ_SIZE)
            if not data:
                return
            self._stderr += self._filter.feed(data)
            if len(self._stderr) > 1_048_576:  # keep the tail: the error is at the end
                del self._stderr[:-1_048_576]

    def wait(self) -> CommandResult:
        if not self.stdin.closed:
            self.stdin.close()  # sends EOF
        while self.stdout.read(_READ_SIZE):
            pass
        self._stderr_thread.join()
        rc = self._conn._exit_status(self._channel)
        return CommandResult(rc, b"", bytes(self._stderr))

    def __enter__(self) -> SSHStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._released:
            return
        self._released = True
        self._conn._running.discard(self._filter)
        if not self._channel.exit_status_ready() and self._filter.pid is not None:
            self._conn._kill_remote(self._filter.pid)
        self._conn._release(self._channel)


class SSHConnection:
    """A persistent SSH session with one host (thread-safe; connects on first use)."""

    def __init__(self, host: str, settings: SSHSettings) -> None:
        self.host = host
        self.settings = settings
        self._lock = threading.Lock()
        self._hop: Hop | None = None
        self._transport: paramiko.Transport | None = None
        self._channel_slots = threading.BoundedSemaphore(MAX_CHANNELS)
        self._running: set[_PidFilter] = set()  # commands in flight, by remote PID
        # One shared remote shell for commands that suit it (see session_shell); a
        # command arriving while it is busy gets a channel of its own.
        self._shell: session_shell.SessionShell | None = None
        self._shell_lock = threading.Lock()

    # -- session ---------------------------------------------------------------
    def connect(self) -> None:
        self._live_transport()

    def _live_transport(self) -> paramiko.Transport:
        with self._lock:
            transport = self._transport
            if transport is not None and transport.is_active():
                return transport
            self._close_locked()
            try:
                target = _build_hops(self.settings)
            except ValueError as exc:  # a ProxyJump in ssh_config that does not parse
                raise HostUnreachable(f"{self.host}: ~/.ssh/config: {exc}") from None
            # First hop first, so an error names the hop that failed.
            for hop in reversed(_chain(target)):
                try:
                    hop.open()
                except Exception as exc:
                    _close_chain(target)
                    message = _explain(exc, self.settings, hop)
                    raise HostUnreachable(f"{self.host}: {message}") from exc
            transport = target.client.get_transport()
            assert transport is not None
            transport.set_keepalive(self.settings.keepalive_interval)
            _quiet_idle(target, self.settings.keepalive_interval)
            self._hop, self._transport = target, transport
            return transport

    def close(self) -> None:
        """Kill commands still running (an interrupted run), then close the session."""
        pids = [f.pid for f in list(self._running) if f.pid is not None]
        if pids and self._transport is not None and self._transport.is_active():
            self._kill_remote(*pids)
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None and shell.claim_release():
            # No CHANNEL_CLOSE exchange: the channel ends with the connection, just below.
            self._channel_slots.release()
        target, self._hop, self._transport = self._hop, None, None
        if target is not None:
            _close_chain(target)

    def _open_channel(self, command: str, deadline: float | None = None) -> paramiko.Channel:
        """A channel running `command`; holds a channel slot until `_release`. Raises
        TimeoutError when `deadline` (the command's timeout) passes first."""
        transport = self._live_transport()
        wait = self.settings.connect_timeout
        if deadline is not None:
            remaining = max(deadline - time.monotonic(), 0.001)
            if not self._channel_slots.acquire(timeout=remaining):
                raise TimeoutError
            wait = min(wait, remaining)
        else:
            self._channel_slots.acquire()
        try:
            channel = transport.open_session(timeout=wait)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._channel_slots.release()
            if "Timeout opening channel" not in str(exc):
                raise self._lost(exc) from exc
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError from None
            raise HostUnreachable(
                f"{self.host}: no answer when opening a session within {wait:g} s "
                "(host frozen or overloaded)"
            ) from None
        try:
            exec_nowait(channel, _remote_command(command))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._release(channel)
            raise self._lost(exc) from exc
        return channel

    def _release(self, channel: paramiko.Channel) -> None:
        with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
            channel.close()  # fails only if the connection died: reported elsewhere
        self._channel_slots.release()

    def _lost(self, exc: BaseException | None = None) -> HostUnreachable:
        reason = f": {exc}" if exc and str(exc) else ""
        return HostUnreachable(f"{self.host}: connection lost{reason}")

    def _exit_status(self, channel: paramiko.Channel) -> int:
        rc = channel.recv_exit_status()
        if rc == -1:
            if transport_died(self._transport):
                raise self._lost()
            if exec_refused(channel):
                raise HostUnreachable(f"{self.host}: the SSH server refused to run a command")
            return 255  # killed by a signal (exit-signal), as the ssh client reports it
        return rc

    def _kill_remote(self, *pids: int) -> None:
        """Kill commands' process groups (best effort, on a fresh channel)."""
        targets = " ".join(f"-{pid} {pid}" for pid in pids)
        wait = min(self.settings.connect_timeout, 3.0)
        with contextlib.suppress(Exception):
            transport = self._transport
            if transport is None or not transport.is_active():
                return
            channel = transport.open_session(timeout=wait)
            channel.settimeout(wait)
            channel.exec_command(f"kill -KILL -- {targets} 2>/dev/null")
            channel.recv_exit_status()
            channel.close()

    # -- commands --------------------------------------------------------------
    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
        text: bool = False,
    ) -> CommandResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        if (
            self.settings.reuse_shell
            and session_shell.suits(command, stdin)
            and self._shell_lock.acquire(blocking=False)
        ):
            try:
                return self._run_in_shell(command, stdin, deadline, timeout, text=text)
            finally:
                self._shell_lock.release()
        try:
            channel = self._open_channel(command, deadline)
        except TimeoutError:
            raise TimeoutError(f"{self.host}: command timed out after {timeout:g} s") from None
        pid_filter = _PidFilter()
        self._running.add(pid_filter)
        try:
            writer = _start_stdin(channel, stdin)
            out, err = self._collect(channel, pid_filter, deadline)
            if writer is not None:
                writer.join()
            return CommandResult(self._exit_status(channel), out, err)
        except TimeoutError:
            if pid_filter.pid is not None:
                self._kill_remote(pid_filter.pid)
            raise TimeoutError(f"{self.host}: command timed out after {timeout:g} s") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        finally:
            self._running.discard(pid_filter)
            self._release(channel)

    def _run_in_shell(
        self, command: str, stdin: bytes | None, deadline: float | None, timeout: float | None,
        *, text: bool = False,
    ) -> CommandResult:
        """Run on the shared remote shell (the caller holds `_shell_lock`)."""
        for attempt in (1, 2):
            shell = self._live_shell(deadline)
            if shell is None:
                raise TimeoutError(f"{self.host}: command timed out after {timeout:g} s")
            try:
                reply = shell.request(command, stdin, text=text)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                # Not delivered: the shell's channel was closed while idle (a server's
                # ChannelTimeout, say). A new shell gets the command, once.
                self._drop_shell(shell)
                if attempt == 2 or transport_died(self._transport):
                    raise self._lost(exc) from exc
                continue
            return self._shell_reply(shell, reply, deadline, timeout)
        raise AssertionError("unreachable")

    def _shell_reply(
        self, shell: session_shell.SessionShell, reply: session_shell.Reply,
        deadline: float | None, timeout: float | None,
    ) -> CommandResult:
        self._running.add(shell.pid_filter)
        try:
            shell.collect(reply, deadline)
            return reply.result()
        except TimeoutError:
            if shell.pid is not None:
                self._kill_remote(shell.pid)  # the shell's process group: the command's too
            raise TimeoutError(f"{self.host}: command timed out after {timeout:g} s") from None
        except session_shell.SessionEnded as ended:
            if transport_died(self._transport):
                raise self._lost() from None
            # The command killed its own shell (as `kill 0` would): like an exec
            # channel ended by a signal.
            return CommandResult(255, ended.stdout, ended.stderr)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            shell.dead = True
            raise self._lost(exc) from exc
        finally:
            self._running.discard(shell.pid_filter)
            if shell.dead:
                self._drop_shell(shell)

    def _live_shell(self, deadline: float | None) -> session_shell.SessionShell | None:
        """The shared shell, started on first use (None: `deadline` passed first)."""
        shell = self._shell
        if shell is not None and not shell.dead:
            channel = shell.channel
            if not (channel.closed or channel.eof_received) and (
                channel.get_transport() is self._transport
            ):
                return shell
            self._drop_shell(shell)
        try:
            channel = self._open_channel(session_shell.SHELL_COMMAND, deadline)
        except TimeoutError:
            return None
        shell = session_shell.SessionShell(channel, _PidFilter())
        self._shell = shell
        return shell

    def _drop_shell(self, shell: session_shell.SessionShell) -> None:
        """Close the shell's channel (once: a closing connection and the command's own
        thread may both get here)."""
        if self._shell is shell:
            self._shell = None
        if shell.claim_release():
            self._release(shell.channel)

    def _collect(
        self, channel: paramiko.Channel, pid_filter: _PidFilter, deadline: float | None
    ) -> tuple[bytes, bytes]:
        """Read stdout and stderr together until EOF (unread stderr would stall stdout)."""
        out: list[bytes] = []
        err: list[bytes] = []
        wakeup = channel.fileno()  # readable whenever either buffer has data, or at EOF
        while True:
            while channel.recv_ready():
                out.append(channel.recv(_READ_SIZE))
            while channel.recv_stderr_ready():
                err.append(pid_filter.feed(channel.recv_stderr(_READ_SIZE)))
            if channel.eof_received or channel.closed:
                if not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                continue
            wait_readable(wakeup, deadline)
        return b"".join(out), b"".join(err)

    def open_stream(self, command: str) -> SSHStream:
        return SSHStream(self, self._open_channel(command))

    def __repr__(self) -> str:
        return f"SSHConnection({self.host!r}, {self.settings.target()})"


def _start_stdin(channel: paramiko.Channel, data: bytes | None) -> threading.Thread | None:
    """Send stdin then EOF; large data from a thread, so output is read meanwhile."""
    if data and len(data) > _INLINE_STDIN:
        writer = threading.Thread(target=_feed, args=(channel, data), daemon=True)
        writer.start()
        return writer
    _feed(channel, data or b"")
    return None


def _feed(channel: paramiko.Channel, data: bytes) -> None:
    # A command may exit without reading its stdin (like EPIPE locally): not an error.
    # If the whole connection died, reading the exit status reports it.
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        send_data(channel, data)
        send_eof(channel)


def key_files_exist(paths: Sequence[str]) -> list[str]:
    """The given key files that are missing (for an early, clear error)."""
    return [p for p in paths if not Path(os.path.expanduser(p)).exists()]
