"""Conversation memory: real app processes on real Redis (hot) and PostgreSQL + pgvector (warm, pgserver)."""

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest

from tests.app.support import API_KEY, OTHER_KEY, AppProcess, RedisServer, StartApp, Upstream, routing_table, run_app

CHAT = "mem-chat"  # upstream model names of these tests, so the fake's request log can be filtered
SUMMARY = "mem-summary"
ANSWER = "The quick brown fox jumps"  # what the fake upstream answers (5 words)


def memory_routing(upstream: Upstream) -> dict[str, Any]:
    routing = routing_table(upstream.url)
    routing["models"]["mem"] = [{"provider": "primary", "model": CHAT}]
    routing["models"]["mem-small"] = [{"provider": "primary", "model": SUMMARY}]
    routing["models"]["embed"] = [{"provider": "primary", "model": "mem-embed;dim=16"}]
    routing["tiers"]["small"] = "mem-small"
    return routing


def start_memory_app(start_app: StartApp, upstream: Upstream, redis: RedisServer, **env: str) -> AppProcess:
    settings = {"APP_REDIS_URL": redis.url, "APP_CACHE_TTL_S": "0"}
    settings.update({f"APP_MEMORY_{k.upper()}": v for k, v in env.items()})
    return start_app(settings, memory_routing(upstream))


def new_session() -> str:
    return f"s-{uuid.uuid4().hex}"


def chat(app: AppProcess, session: str, text: str, key: str = API_KEY, **extra: Any) -> httpx.Response:
    body = {"model": "mem", "messages": [{"role": "user", "content": text}], "session_id": session, **extra}
    return httpx.post(f"{app.url}/v1/chat/completions", json=body, headers={"x-api-key": key}, timeout=30)


def get_session(app: AppProcess, session: str, key: str = API_KEY) -> httpx.Response:
    return httpx.get(f"{app.url}/v1/sessions/{session}", headers={"x-api-key": key}, timeout=30)


def delete_session(app: AppProcess, session: str, key: str = API_KEY) -> int:
    return httpx.delete(f"{app.url}/v1/sessions/{session}", headers={"x-api-key": key}, timeout=30).status_code


def sent(upstream: Upstream, marker: str) -> list[dict[str, str]]:
    """The messages of the last chat request upstream whose last message contains `marker`."""
    for request in reversed(upstream.requests(CHAT)):
        messages = request["body"]["messages"]
        if marker in messages[-1]["content"]:
            return [{"role": m["role"], "content": m["content"]} for m in messages]
    raise AssertionError(f"no upstream request ends with {marker!r}")


def poll(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture(scope="module")
def replicas(start_app: StartApp, upstream: Upstream, redis_server: RedisServer) -> tuple[AppProcess, AppProcess]:
    """Two app processes on one Redis; no summaries (many recent turns), a small token budget."""
    env = {"recent_turns": "50", "max_turns": "200", "token_budget": "64"}
    return start_memory_app(start_app, upstream, redis_server, **env), start_memory_app(
        start_app, upstream, redis_server, **env
    )


def test_a_conversation_continues_on_another_replica(
    replicas: tuple[AppProcess, AppProcess], upstream: Upstream
) -> None:
    a, b = replicas
    session = new_session()
    client = openai.OpenAI(base_url=f"{a.url}/v1", api_key=API_KEY)
    first = client.chat.completions.create(
        model="mem", messages=[{"role": "user", "content": "my name is Ada"}], extra_body={"session_id": session}
    )
    assert first.choices[0].message.content == ANSWER
    body = {"prompt": "what is my name?", "model": "mem", "session_id": session}
    r = httpx.post(f"{b.url}/generate", json=body, headers={"x-api-key": API_KEY})
    assert r.status_code == 200, r.text
    assert sent(upstream, "what is my name?") == [
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "what is my name?"},
    ]
    turns = get_session(a, session).json()["turns"]
    assert [(t["role"], t["content"]) for t in turns] == [
        ("user", "my name is Ada"),
        ("assistant", ANSWER),
        ("user", "what is my name?"),
        ("assistant", ANSWER),
    ]


def test_concurrent_turns_on_two_replicas_are_all_kept(replicas: tuple[AppProcess, AppProcess]) -> None:
    a, b = replicas
    session = new_session()
    texts = [f"turn number {i}" for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: chat((a, b)[i % 2], session, texts[i]).status_code, range(len(texts))))
    assert statuses == [200] * len(texts)
    turns = get_session(b, session).json()["turns"]
    users = [t["content"] for t in turns if t["role"] == "user"]
    assert sorted(users) == sorted(texts)  # none lost, none doubled
    for i in range(0, len(turns), 2):  # each exchange was appended as one unit
        assert (turns[i]["role"], turns[i + 1]["role"]) == ("user", "assistant")


def test_the_prompt_is_trimmed_to_the_token_budget(replicas: tuple[AppProcess, AppProcess], upstream: Upstream) -> None:
    a, _ = replicas
    session = new_session()
    for i in range(3):
        assert chat(a, session, f"{i} " + "x" * 78).status_code == 200
    assert chat(a, session, "the newest question, forty characters!!").status_code == 200
    messages = sent(upstream, "the newest question")
    history = [(t["role"], t["content"]) for t in get_session(a, session).json()["turns"]][:-1]

    def estimate(items: list[tuple[str, str]]) -> int:
        return sum(max(1, (len(content) + 3) // 4) for _, content in items)

    pairs = [(m["role"], m["content"]) for m in messages]
    assert pairs == history[-len(pairs) :]  # the newest turns, in order, then the new message
    assert estimate(pairs) <= 64 < estimate(history[-len(pairs) - 1 :])  # as many as fit, no more
    assert len(pairs) < len(history)
    r = chat(a, session, "y" * 300)  # about 75 tokens on its own
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "messages"]
    assert "APP_MEMORY_TOKEN_BUDGET" in r.json()["detail"][0]["msg"]


def test_a_session_is_never_readable_by_another_caller(
    replicas: tuple[AppProcess, AppProcess], upstream: Upstream
) -> None:
    a, b = replicas
    session = new_session()
    assert chat(a, session, "secret: the vault code is 1234").status_code == 200
    assert get_session(b, session, OTHER_KEY).status_code == 404
    assert delete_session(b, session, OTHER_KEY) == 404
    assert chat(b, session, "what is the vault code?", OTHER_KEY).status_code == 200
    assert sent(upstream, "what is the vault code?") == [{"role": "user", "content": "what is the vault code?"}]
    mine = get_session(a, session).json()
    assert [t["content"] for t in mine["turns"]] == ["secret: the vault code is 1234", ANSWER]
    theirs = get_session(b, session, OTHER_KEY).json()
    assert [t["content"] for t in theirs["turns"]] == ["what is the vault code?", ANSWER]


def test_sessions_can_be_deleted_and_expire_in_redis(
    replicas: tuple[AppProcess, AppProcess], redis_server: RedisServer
) -> None:
    a, b = replicas
    session = new_session()
    assert chat(a, session, "hello").status_code == 200
    keys = redis_server.cli("--scan", "--pattern", "mem:{*}:meta").split()
    ttls = [int(redis_server.cli("ttl", key)) for key in keys]
    assert ttls and all(0 < ttl <= 30 * 86400 for ttl in ttls)  # APP_MEMORY_SESSION_TTL_S
    assert delete_session(b, session) == 204
    assert get_session(a, session).status_code == 404
    assert delete_session(b, session) == 404


def test_streamed_answers_are_recorded_only_when_complete(
    replicas: tuple[AppProcess, AppProcess], upstream: Upstream
) -> None:
    a, _ = replicas
    session = new_session()
    r = chat(a, session, "stream please", stream=True)
    assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
    turns = get_session(a, session).json()["turns"]
    assert [(t["role"], t["content"]) for t in turns] == [("user", "stream please"), ("assistant", ANSWER)]
    broken = new_session()
    body = {"model": "midstream", "messages": [{"role": "user", "content": "cut me"}], "session_id": broken}
    r = httpx.post(f"{a.url}/v1/chat/completions", json={**body, "stream": True}, headers={"x-api-key": API_KEY})
    assert r.status_code == 200 and "[DONE]" not in r.text  # the stream broke after the first byte
    assert get_session(a, session).status_code == 200
    assert get_session(a, broken).status_code == 404  # nothing stored for a failed answer


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        ("POST", "/v1/chat/completions", {"session_id": "has space"}, ["body", "session_id"]),
        ("POST", "/v1/chat/completions", {"session_id": "x" * 129}, ["body", "session_id"]),
        ("POST", "/v1/chat/completions", {"session_id": 5}, ["body", "session_id"]),
        ("POST", "/v1/chat/completions", {"session_id": ""}, ["body", "session_id"]),
        ("POST", "/generate", {"session_id": "a/b"}, ["body", "session_id"]),
        ("GET", "/v1/sessions/has%20space", None, ["path", "session_id"]),
        ("DELETE", "/v1/sessions/" + "x" * 129, None, ["path", "session_id"]),
    ],
)
def test_bad_session_ids_are_422_naming_the_field(
    replicas: tuple[AppProcess, AppProcess], method: str, path: str, body: dict[str, Any] | None, loc: list[str]
) -> None:
    a, _ = replicas
    if body is not None:
        chat_body = {"model": "mem", "messages": [{"role": "user", "content": "hi"}]}
        base = {"prompt": "hi"} if path == "/generate" else chat_body
        body = {**base, **body}
    r = httpx.request(method, f"{a.url}{path}", json=body, headers={"x-api-key": API_KEY})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert r.headers["x-request-id"]


def test_sessions_need_credentials(replicas: tuple[AppProcess, AppProcess]) -> None:
    a, _ = replicas
    assert httpx.get(f"{a.url}/v1/sessions/anything").status_code == 401
    assert httpx.delete(f"{a.url}/v1/sessions/anything").status_code == 401


def test_older_turns_are_summarised_by_the_small_tier(
    start_app: StartApp, upstream: Upstream, redis_server: RedisServer
) -> None:
    app = start_memory_app(start_app, upstream, redis_server, recent_turns="2", max_turns="4")
    session = new_session()
    assert chat(app, session, "first: I live in Lisbon").status_code == 200
    assert chat(app, session, "second: I like jazz").status_code == 200  # 4 turns held: fold the oldest 2
    state = poll(lambda: (s := get_session(app, session).json())["summarized_turns"] == 2 and s)
    assert state["summary"] == ANSWER  # the small tier's answer
    assert [t["content"] for t in state["turns"]] == ["second: I like jazz", ANSWER]
    summariser = upstream.requests(SUMMARY)[-1]["body"]["messages"]
    assert "first: I live in Lisbon" in summariser[-1]["content"]
    assert "second: I like jazz" not in summariser[-1]["content"]  # recent turns stay verbatim
    assert chat(app, session, "third: what do you know?").status_code == 200
    assert sent(upstream, "third:") == [
        {"role": "system", "content": "Summary of the earlier conversation:\n" + ANSWER},
        {"role": "user", "content": "second: I like jazz"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "third: what do you know?"},
    ]
    poll(lambda: get_session(app, session).json()["summarized_turns"] == 4)
    again = upstream.requests(SUMMARY)[-1]["body"]["messages"][-1]["content"]
    assert f"Summary so far:\n{ANSWER}" in again  # the summary of summaries: older summary + folded turns
    assert "second: I like jazz" in again


def test_concurrent_turns_and_summaries_on_two_replicas_lose_nothing(
    start_app: StartApp, upstream: Upstream, redis_server: RedisServer
) -> None:
    a, b = (start_memory_app(start_app, upstream, redis_server, recent_turns="2") for _ in range(2))
    session = new_session()
    texts = [f"parallel turn {i}" for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: chat((a, b)[i % 2], session, texts[i]).status_code, range(len(texts))))
    assert statuses == [200] * len(texts)

    def settled() -> dict[str, Any] | None:
        state = get_session(a, session).json()
        return state if state["summarized_turns"] + len(state["turns"]) == 2 * len(texts) else None

    state = poll(settled)  # a fold removes exactly the turns it summarised, even with appends racing it
    assert state["dropped_turns"] == 0 and state["summarized_turns"] > 0
    folded = [
        line.removeprefix("user: ")
        for r in upstream.requests(SUMMARY)
        for line in r["body"]["messages"][-1]["content"].split("New turns:\n", 1)[1].splitlines()
    ]
    kept = [t["content"] for t in state["turns"]]
    for text in texts:  # every turn is either still verbatim or was summarised, exactly once
        assert kept.count(text) + folded.count(text) == 1, text


def test_idle_sessions_move_to_postgres_come_back_and_expire(
    start_app: StartApp, upstream: Upstream, redis_server: RedisServer, postgres: Callable[[str], str]
) -> None:
    settings = {"APP_DATABASE_URL": postgres("memory"), "APP_EMBEDDING_MODEL": "embed", "APP_EMBEDDING_DIM": "16"}
    env = {"hot_idle_s": "1", "sweep_s": "0.2", "session_ttl_s": "6", "recent_turns": "20", "max_turns": "40"}
    app = start_app(
        {"APP_REDIS_URL": redis_server.url, **settings, **{f"APP_MEMORY_{k.upper()}": v for k, v in env.items()}},
        memory_routing(upstream),
    )
    session = new_session()
    assert chat(app, session, "remember the blue door").status_code == 200
    assert chat(app, session, "a NUL \x00 (PostgreSQL text cannot hold it)").status_code == 200
    moved = poll(lambda: (s := get_session(app, session).json())["tier"] == "warm" and s)
    assert [t["content"] for t in moved["turns"]] == [
        "remember the blue door",
        ANSWER,
        "a NUL \x00 (PostgreSQL text cannot hold it)",
        ANSWER,
    ]
    assert get_session(app, session, OTHER_KEY).status_code == 404  # warm sessions are per caller too
    assert chat(app, session, "which door?").status_code == 200  # restored into Redis
    assert sent(upstream, "which door?")[0] == {"role": "user", "content": "remember the blue door"}
    back = get_session(app, session).json()
    assert back["tier"] == "hot" and len(back["turns"]) == 6
    poll(lambda: get_session(app, session).json()["tier"] == "warm")
    poll(lambda: get_session(app, session).status_code == 404, timeout=20)  # expired after 6 s idle


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APP_MEMORY_SUMMARY_MODEL": "nope"}, "APP_MEMORY_SUMMARY_MODEL='nope' is not a model alias"),
        ({"APP_MEMORY_RECENT_TURNS": "8", "APP_MEMORY_MAX_TURNS": "10"}, "APP_MEMORY_MAX_TURNS=10 must be at least"),
        ({"APP_MEMORY_HOT_IDLE_S": "100", "APP_MEMORY_SESSION_TTL_S": "50"}, "APP_MEMORY_HOT_IDLE_S=100 must be below"),
        ({"APP_MEMORY_TOKEN_BUDGET": "many"}, "APP_MEMORY_TOKEN_BUDGET (got 'many')"),
    ],
)
def test_bad_memory_settings_stop_start_up(env: dict[str, str], message: str) -> None:
    result = run_app({"APP_AUTH_REQUIRED": "false", "APP_REDIS_URL": "redis://127.0.0.1:1/0", **env})
    assert result.returncode == 2
    assert message in result.stderr


def test_session_id_without_redis_is_422(start_app: StartApp, upstream: Upstream) -> None:
    app = start_app({}, memory_routing(upstream))
    r = chat(app, new_session(), "hi")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "session_id"]
    assert "APP_REDIS_URL" in r.json()["detail"][0]["msg"]
    assert get_session(app, "anything").status_code == 404


def test_a_redis_outage_is_503_not_500(start_app: StartApp, upstream: Upstream) -> None:
    app = start_app({"APP_REDIS_URL": "redis://127.0.0.1:1/0"}, memory_routing(upstream))
    for r in (chat(app, new_session(), "hi"), get_session(app, "s-1")):
        assert r.status_code == 503, r.text
        assert r.headers["x-request-id"] and r.headers["retry-after"]


def test_anonymous_callers_get_no_sessions(start_app: StartApp, upstream: Upstream, redis_server: RedisServer) -> None:
    """With APP_AUTH_REQUIRED=false every caller is the same anonymous one: sessions would be shared."""
    app = start_app({"APP_REDIS_URL": redis_server.url, "APP_AUTH_REQUIRED": "false"}, memory_routing(upstream))
    body = {"model": "mem", "messages": [{"role": "user", "content": "hi"}], "session_id": "s-anon"}
    r = httpx.post(f"{app.url}/v1/chat/completions", json=body)
    assert r.status_code == 401 and "needs credentials" in r.text
    assert httpx.post(f"{app.url}/v1/chat/completions", json={**body, "session_id": None}).status_code == 200
    assert httpx.get(f"{app.url}/v1/sessions/s-anon").status_code == 401
    assert get_session(app, "s-anon").status_code == 404  # a caller with a key has its own (empty) space
