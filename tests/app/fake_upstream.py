"""A fake LLM upstream on 127.0.0.1 that injects faults: OpenAI, Azure OpenAI and Anthropic shapes.

Raw asyncio HTTP/1.1 (keep-alive, chunked streaming) so it can also reset connections, cut
streams and send malformed chunks, and is fast enough to be the benchmark's baseline.

The behaviour of a request comes from its model (or Azure deployment) name, a ';'-separated
list of settings, e.g. "status=429;retry_after=1", "delay=2", "reset", "cut_after=2",
"malformed", "chunks=8;chunk_delay=0.05". A name without '=' behaves normally. A script posted
to /_control/script overrides the next requests of one model, one step each.

Run: python tests/app/fake_upstream.py --port 9000
"""

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import struct
import time
from collections import defaultdict, deque
from typing import Any

WORDS = [
    "The",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "again",
    "and",
    "again",
]
RECORDED_HEADERS = (
    "x-request-id",
    "traceparent",
    "authorization",
    "api-key",
    "x-api-key",
    "anthropic-version",
    "cookie",
)


class State:
    def __init__(self) -> None:
        self.scripts: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[dict[str, Any]] = []
        self.jwks: dict[str, Any] = {"keys": []}
        self.traces: list[str] = []


STATE = State()


def parse_behaviour(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif part.strip() in (
            "reset",
            "malformed",
            "anthropic_error",
            "no_done",
            "bullets",
            "verdict",
            "set_cookie",
        ):
            out[part.strip()] = "1"
    return out


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def reset(self) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def respond(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        head = [
            f"HTTP/1.1 {status} X",
            f"content-length: {len(body)}",
            "content-type: application/json",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def start_stream(self) -> None:
        head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        self.writer.write(head.encode())
        await self.writer.drain()

    async def chunk(self, data: bytes) -> None:
        self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    async def end_stream(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()


# what a judge model answers (the `verdict` behaviour): the evaluator's judge prompt asks for this shape
VERDICT = '{"relevance": 4, "groundedness": 5, "reason": "the fake upstream grades every answer alike"}'


def words_for(behaviour: dict[str, str]) -> list[str]:
    """The answer's words; with `bullets`, every fourth word starts a new "- " line."""
    count = int(behaviour.get("chunks", "5"))
    words = [WORDS[i % len(WORDS)] for i in range(count)]
    if "bullets" in behaviour:
        words = [("\n- " if i % 4 == 0 and i else "- " if i == 0 else "") + w for i, w in enumerate(words)]
    return words


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


async def openai_reply(conn: Connection, body: dict[str, Any], model: str, b: dict[str, str]) -> None:
    words = [VERDICT] if "verdict" in b else words_for(b)
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4 + 1
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(words),
        "total_tokens": prompt_tokens + len(words),
    }
    if not body.get("stream"):
        answer = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(words)},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        cookie = {"set-cookie": "__cf_bm=upstream-session; Path=/; HttpOnly"} if "set_cookie" in b else None
        await conn.respond(200, json.dumps(answer).encode(), cookie)
        return
    await conn.start_stream()
    base = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    delay = float(b.get("chunk_delay", "0"))
    for i, word in enumerate(words):
        if "cut_after" in b and i == int(b["cut_after"]):
            conn.reset()
            return
        if "malformed" in b and i == int(b.get("malformed_at", "0")):
            await conn.chunk(b"data: {not json\n\n")
            continue
        text = word if i == 0 else " " + word
        await conn.chunk(
            sse(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
                }
            )
        )
        if delay:
            await asyncio.sleep(delay)
    await conn.chunk(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if (body.get("stream_options") or {}).get("include_usage"):
        await conn.chunk(sse({**base, "choices": [], "usage": usage}))
    if "no_done" not in b:
        await conn.chunk(b"data: [DONE]\n\n")
    await conn.end_stream()


async def anthropic_reply(conn: Connection, body: dict[str, Any], b: dict[str, str]) -> None:
    words = words_for(b)
    text_len = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) + len(body.get("system", ""))
    input_tokens = text_len // 4 + 1
    if not body.get("stream"):
        answer = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": " ".join(words)}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": input_tokens, "output_tokens": len(words)},
        }
        await conn.respond(200, json.dumps(answer).encode())
        return
    await conn.start_stream()
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": body.get("model"),
            "stop_reason": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }
    await conn.chunk(sse(start, "message_start"))
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    await conn.chunk(sse(block, "content_block_start"))
    await conn.chunk(sse({"type": "ping"}, "ping"))
    for i, word in enumerate(words):
        if "cut_after" in b and i == int(b["cut_after"]):
            conn.reset()
            return
        if "anthropic_error" in b and i == 2:
            error = {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
            await conn.chunk(sse(error, "error"))
            await conn.end_stream()
            return
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
        }
        await conn.chunk(sse(delta, "content_block_delta"))
    await conn.chunk(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": len(words)},
    }
    await conn.chunk(sse(end, "message_delta"))
    await conn.chunk(sse({"type": "message_stop"}, "message_stop"))
    await conn.end_stream()


def embedding(text: str, dim: int) -> list[float]:
    """Bag of words hashed into `dim` buckets and normalised: texts sharing words are near."""
    vector = [0.0] * dim
    for word in text.lower().split():
        digest = hashlib.sha256(word.strip(".,!?").encode()).digest()
        vector[digest[0] % dim] += 1.0 if digest[1] % 2 else -1.0
    norm = sum(x * x for x in vector) ** 0.5 or 1.0
    return [x / norm for x in vector]


async def embeddings_reply(conn: Connection, body: dict[str, Any], b: dict[str, str]) -> None:
    texts = body.get("input", [])
    texts = [texts] if isinstance(texts, str) else texts
    dim = int(b.get("dim", "16"))
    data = [{"object": "embedding", "index": i, "embedding": embedding(t, dim)} for i, t in enumerate(texts)]
    answer = {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    await conn.respond(200, json.dumps(answer).encode())


async def control(conn: Connection, method: str, path: str, body: bytes) -> None:
    data = json.loads(body or b"{}")
    if path == "/_control/script":
        STATE.scripts[data["model"]].extend(data["steps"])
    elif path == "/_control/reset":
        STATE.scripts.clear()
        STATE.requests.clear()
        STATE.traces.clear()
    elif path == "/_control/jwks":
        STATE.jwks = data
    elif path == "/_control/requests":
        await conn.respond(
            200,
            json.dumps({"requests": STATE.requests, "traces": STATE.traces}).encode(),
        )
        return
    await conn.respond(200, b"{}")


async def handle_request(conn: Connection, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
    route = path.split("?", 1)[0]
    if route.startswith("/_control/"):
        await control(conn, method, route, body)
        return
    if route == "/jwks.json":
        await conn.respond(200, json.dumps(STATE.jwks).encode())
        return
    if route == "/v1/traces":
        STATE.traces.append(base64.b64encode(body).decode())
        await conn.respond(200, b"", {"content-type": "application/x-protobuf"})
        return
    if route == "/msi/token":  # Azure App Service / Container Apps managed identity endpoint
        if headers.get("x-identity-header") != "fake-identity-header":
            await conn.respond(401, b'{"error": "bad identity header"}')
            return
        token = {
            "access_token": "entra-token-1",
            "expires_on": str(int(time.time()) + 3600),
            "resource": "https://cognitiveservices.azure.com",
            "token_type": "Bearer",
        }
        await conn.respond(200, json.dumps(token).encode())
        return
    if route == "/v1/models":
        await conn.respond(
            200,
            json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode(),
        )
        return
    parsed = json.loads(body or b"{}")
    if route.startswith("/openai/deployments/"):
        model = route.split("/")[3]
        kind = "azure_embeddings" if route.endswith("/embeddings") else "azure"
    elif route == "/v1/embeddings":
        model, kind = str(parsed.get("model", "")), "embeddings"
    elif route == "/v1/messages":
        model, kind = str(parsed.get("model", "")), "anthropic"
    elif route == "/v1/chat/completions":
        model, kind = str(parsed.get("model", "")), "openai"
    else:
        await conn.respond(404, b'{"error": "not found"}')
        return
    script = STATE.scripts.get(model)
    spec = script.popleft() if script else model
    b = parse_behaviour(spec)
    STATE.requests.append(
        {
            "t": time.time(),
            "kind": kind,
            "model": model,
            "behaviour": spec,
            "body": parsed,
            "headers": {k: v for k, v in headers.items() if k in RECORDED_HEADERS},
        }
    )
    if "delay" in b:
        await asyncio.sleep(float(b["delay"]))
    if "reset" in b:
        conn.reset()
        return
    if "status" in b:
        extra = {"retry-after": b["retry_after"]} if "retry_after" in b else {}
        await conn.respond(
            int(b["status"]),
            json.dumps({"error": {"message": f"injected {b['status']}"}}).encode(),
            extra,
        )
        return
    if kind.endswith("embeddings"):
        await embeddings_reply(conn, parsed, b)
    elif kind == "anthropic":
        await anthropic_reply(conn, parsed, b)
    else:
        await openai_reply(conn, parsed, model, b)


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    conn = Connection(reader, writer)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            await handle_request(conn, method, path, headers, body)
            if writer.transport.is_closing() or headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve_connection, "127.0.0.1", port, backlog=1024)
    print(f"fake upstream listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(args.port))
