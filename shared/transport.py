"""The HTTP transport for IBM Cloud calls: every network wait ends at the request's deadline.

httpx's timeouts bound each socket operation, not a whole call, so an answer trickled a byte at a
time passes every read timeout and can hold a request, its per-instance lock and a pooled
connection for minutes. Here each connect, read and write waits at most until the deadline that
`shared.retry.request_deadline` set (the time left, when shorter than httpx's own timeout), so a
stuck call fails as a timeout at the deadline, in the thread that made it, and everything it held
is released.

httpx takes no network backend of its own; the one of its connection pool is wrapped, which the
pinned httpx/httpcore pair allows. `build` checks it is there, so an upgrade that moves it fails
loudly (in the newest-versions job and the tests first) instead of silently losing the deadline.
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from shared.retry import time_left

SHORTEST_WAIT = 0.001  # past the deadline: fail at once, as a timeout httpx reports like any other


def _cut(timeout: float | None) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    left = max(SHORTEST_WAIT, left)
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _cut(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _cut(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _cut(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _cut(timeout), local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _cut(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def build() -> httpx.HTTPTransport:
    """An httpx transport whose connects, reads and writes stop at the current request's deadline."""
    transport = httpx.HTTPTransport()
    pool = transport._pool  # private: see the module docstring
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        raise RuntimeError("httpx/httpcore no longer expose the pool's network backend; see shared/transport.py")
    pool._network_backend = _Backend(backend)
    return transport
