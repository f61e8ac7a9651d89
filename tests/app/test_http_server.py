"""Responses written in one system call (app/http_server.py): the transport that holds a header block, and
the real server answering what a held header block could break (100-continue, HEAD, 204, streams)."""

import socket
from typing import Any

import httpx

from app.http_server import CoalescingTransport
from tests.app.support import API_KEY, StartApp


class Recorder:
    """A transport that records what reaches the socket (the real one is uvloop's, tested end to end below)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        return f"extra {name}"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def coalescing() -> tuple[CoalescingTransport, Recorder]:
    recorder = Recorder()
    return CoalescingTransport(recorder), recorder  # type: ignore[arg-type]


def test_the_header_block_goes_out_with_the_first_body_part() -> None:
    transport, recorder = coalescing()
    transport.write(HEAD)
    assert recorder.writes == []
    transport.write(b"ok")
    transport.write(HEAD)
    transport.write(b"")  # an empty body (HEAD, 204) still releases it
    transport.write(HEAD)
    transport.writelines([b"o", b"k"])
    assert recorder.writes == [HEAD + b"ok", HEAD, HEAD + b"ok"]


def test_interim_answers_and_whole_responses_are_not_held() -> None:
    transport, recorder = coalescing()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    whole = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad"
    transport.write(whole)
    transport.write(b"5\r\nchunk\r\n")  # a body part without a header block before it
    assert recorder.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", whole, b"5\r\nchunk\r\n"]


def test_a_held_header_block_is_written_before_closing_unless_the_socket_is_gone() -> None:
    transport, recorder = coalescing()
    transport.write(HEAD)
    transport.close()
    assert recorder.writes == [HEAD] and recorder.closing
    transport, recorder = coalescing()
    transport.write(HEAD)
    recorder.closing = True
    transport.close()
    assert recorder.writes == []
    assert transport.get_extra_info("peername") == "extra peername"  # the rest is the transport's own


def _raw(port: int, request: bytes, body: bytes | None = None) -> bytes:
    """Send a request on a plain socket; with `body`, only after the server's 100 Continue."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        if body is not None:
            interim = conn.recv(4096)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
            conn.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_the_server_answers_100_continue_head_and_streams(start_app: StartApp) -> None:
    app = start_app()
    body = b'{"prompt":"hi"}'
    request = (
        b"POST /generate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"x-api-key: " + API_KEY.encode() + b"\r\nexpect: 100-continue\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
    )
    answer = _raw(app.port, request, body)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b'"text"' in answer, answer
    assert httpx.head(f"{app.url}/health").status_code in (200, 405)
    client = httpx.Client(base_url=app.url, headers={"x-api-key": API_KEY})
    with client, client.stream("POST", "/generate", json={"prompt": "hi", "stream": True}) as streamed:
        assert streamed.status_code == 200
        assert b"".join(streamed.iter_bytes()).rstrip().endswith(b"[DONE]")
