"""A TCP proxy on loopback that loses answers: it forwards each request to the gateway, waits
until the gateway has answered (so the gateway did the work), then closes the client's
connection without passing the answer on. This is a create call whose answer was lost."""
from __future__ import annotations

import socket
import threading


class AnswerLosingProxy:
    def __init__(self, upstream_url: str):
        host, port = upstream_url.removeprefix("http://").split(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lost = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as upstream:
            request = _read_request(client)
            if not request:
                return
            upstream.sendall(request)
            if upstream.recv(65536):   # the gateway answered: it has done the work
                self.lost += 1
            client.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


def _read_request(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 request (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
