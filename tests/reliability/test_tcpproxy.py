"""The outage proxy itself: a cut leaves no connection through it alive or hanging."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.tcpproxy import tcp_proxy


def test_a_client_waiting_for_an_answer_is_reset_by_a_cut_not_left_hanging() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    asked = threading.Event()
    answer = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(100)
            asked.set()
            answer.wait(10)
            with contextlib.suppress(OSError):
                conn.sendall(b"late answer")  # on its way while the proxy is cut

    threading.Thread(target=serve, daemon=True).start()
    with tcp_proxy(server.getsockname()) as proxy:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        client.sendall(b"query")
        assert asked.wait(10)
        proxy.cut()
        answer.set()
        try:
            got = client.recv(100)
        except ConnectionResetError:
            got = b""
        except TimeoutError as waited:
            raise AssertionError(
                "the client still waits on a connection the cut should reset"
            ) from waited
        assert got == b""  # closed or reset: the late answer never arrives
        client.close()
    server.close()
