"""A TCP proxy to RabbitMQ for tests that need a broker which is up but stops answering or reading (a
resource alarm, a stalled node, a half-open connection, a black-holed route)."""
from __future__ import annotations

import socket
import threading


class FreezingProxy:
    """Forwards TCP to ``target`` until ``freeze()``: then holds what either side sends (both sockets
    stay open). ``freeze(port)`` holds only what the client connected from ``port`` sends, so the other
    connections of the same process go on. ``held``: bytes received while held. ``receive_buffer``
    shrinks the client sockets' receive buffers, so a writer the proxy holds blocks sooner."""

    CHUNK = 65536

    def __init__(self, target: tuple[str, int], receive_buffer: int | None = None):
        self.target, self.receive_buffer = target, receive_buffer
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.ports: dict[int, threading.Event] = {}  # a client's port -> set while it flows
        self.held = 0
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self, port: int | None = None):
        if port is None:
            self.flowing.clear()
        else:
            self.ports.setdefault(port, threading.Event()).clear()

    def close(self):
        self.server.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.flowing.set()
        for flowing in self.ports.values():
            flowing.set()

    def _accept(self):
        while True:
            try:
                client, (_, client_port) = self.server.accept()
            except OSError:
                return
            if self.receive_buffer:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink, port in ((client, upstream, client_port), (upstream, client, None)):
                threading.Thread(target=self._pump, args=(source, sink, port), daemon=True).start()

    def _pump(self, source, sink, client_port):
        """``client_port``: the client's, on the direction from the client to the broker."""
        while True:
            try:
                data = source.recv(self.CHUNK)
            except OSError:
                break
            if not data:
                break
            flowing = self.ports.get(client_port) if client_port is not None else None
            if not self.flowing.is_set() or (flowing is not None and not flowing.is_set()):
                self.held += len(data)
            self.flowing.wait()
            if flowing is not None:
                flowing.wait()
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            try:
                sock.close()
            except OSError:
                pass
