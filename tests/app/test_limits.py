"""Rate limits and budgets enforced atomically in real Redis across processes, the in-process fallback, the cache."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import uvloop
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.limits import LIMITS_LUA, Limiter, Operation, RedisStore, decode, encode, numbers
from app.redis_link import Link
from app.settings import Settings
from tests.app.support import (
    API_KEY,
    OTHER_KEY,
    AppProcess,
    RedisServer,
    StartApp,
    Upstream,
)


async def _burst(apps: list[AppProcess], total: int, key: str) -> list[httpx.Response]:
    clients = [httpx.AsyncClient(base_url=a.url, headers={"authorization": f"Bearer {key}"}, timeout=30) for a in apps]
    try:
        calls = [clients[i % len(clients)].post("/generate", json={"prompt": "hi"}) for i in range(total)]
        return list(await asyncio.gather(*calls))
    finally:
        for c in clients:
            await c.aclose()


def test_requests_per_minute_hold_across_three_processes(start_app: StartApp, redis_server: RedisServer) -> None:
    redis_server.flush()
    env = {
        "APP_REDIS_URL": redis_server.url,
        "APP_RPM_PER_KEY": "10",
        "APP_RPM_PER_IP": "1000",
    }
    apps = [start_app(env) for _ in range(3)]
    responses = asyncio.run(_burst(apps, 30, API_KEY))
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 10, codes
    assert codes.count(429) == 20, codes
    rejected = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(rejected.headers["retry-after"]) <= 60
    assert rejected.headers["x-ratelimit-limit"] == "10"
    assert rejected.headers["x-ratelimit-remaining"] == "0"
    assert "key requests" in rejected.json()["detail"]
    # another key has its own allowance
    other = asyncio.run(_burst(apps, 3, OTHER_KEY))
    assert [r.status_code for r in other] == [200, 200, 200]
    # one window shared by all three: round-robin requests, 10 pass whichever process serves them
    redis_server.flush()
    codes, served_by = [], set()
    for i in range(12):
        app = apps[i % 3]
        r = httpx.post(f"{app.url}/generate", json={"prompt": "hi"}, headers={"x-api-key": API_KEY})
        codes.append(r.status_code)
        if r.status_code == 200:
            served_by.add(app.port)
            assert r.headers["x-ratelimit-remaining"] == str(9 - i)
    assert codes == [200] * 10 + [429] * 2
    assert len(served_by) == 3


def test_tokens_per_minute_count_real_usage(start_app: StartApp, redis_server: RedisServer) -> None:
    redis_server.flush()
    app = start_app(
        {
            "APP_REDIS_URL": redis_server.url,
            "APP_RPM_PER_KEY": "0",
            "APP_TPM_PER_KEY": "1000",
        }
    )
    with app.client() as c:
        # each call reserves ~301 tokens but settles to its real 6 (1 prompt + 5 completion)
        answers = [c.post("/generate", json={"prompt": "hi", "max_tokens": 300}) for _ in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        r = answers[-1]
        assert int(r.headers["x-ratelimit-remaining-tokens"]) == 1000 - 9 * 6 - 301
        r = c.post("/generate", json={"prompt": "hi", "max_tokens": 960})  # 60 used + 961 > 1000
        assert r.status_code == 429
        assert "key tokens" in r.json()["detail"]
        assert r.headers["x-ratelimit-limit-tokens"] == "1000"
        assert c.post("/generate", json={"prompt": "hi", "max_tokens": 900}).status_code == 200


def test_per_ip_limit_applies_across_keys(start_app: StartApp, redis_server: RedisServer) -> None:
    redis_server.flush()
    app = start_app(
        {
            "APP_REDIS_URL": redis_server.url,
            "APP_RPM_PER_KEY": "100",
            "APP_RPM_PER_IP": "5",
        }
    )
    codes = []
    with httpx.Client(base_url=app.url) as c:
        for i in range(8):
            key = API_KEY if i % 2 else OTHER_KEY
            codes.append(c.post("/generate", json={"prompt": "hi"}, headers={"x-api-key": key}).status_code)
        last = c.post("/generate", json={"prompt": "hi"}, headers={"x-api-key": API_KEY})
    assert codes == [200] * 5 + [429] * 3
    assert "ip requests" in last.json()["detail"]


def test_daily_cost_budget_per_key(start_app: StartApp, redis_server: RedisServer) -> None:
    redis_server.flush()
    # "plain" costs (1 * 1000 + 5 * 2000) / 1e6 = 0.011 USD a call in the test price table
    app = start_app({"APP_REDIS_URL": redis_server.url, "APP_DAILY_BUDGET_USD_PER_KEY": "0.02"})
    with app.client() as c:
        assert [c.post("/generate", json={"prompt": "hi"}).status_code for _ in range(2)] == [200, 200]
        r = c.post("/generate", json={"prompt": "hi"})
        assert r.status_code == 429
        assert "daily budget" in r.json()["detail"]
        assert 0 < int(r.headers["retry-after"]) <= 86_400
        metrics = c.get("/metrics").text
    assert 'ai_ratelimit_rejections_total{limit="budget",scope="key"} 1.0' in metrics
    assert 'ai_cost_usd_total{model="plain",provider="primary"} 0.022' in metrics
    with httpx.Client(base_url=app.url, headers={"x-api-key": OTHER_KEY}) as c:
        assert c.post("/generate", json={"prompt": "hi"}).status_code == 200


def test_in_process_limiter_without_redis(start_app: StartApp) -> None:
    app = start_app({"APP_RPM_PER_KEY": "3"})
    with app.client() as c:
        codes = [c.post("/generate", json={"prompt": "hi"}).status_code for _ in range(5)]
        ready = c.get("/ready").json()
    assert codes == [200, 200, 200, 429, 429]
    assert "redis" not in ready["checks"]


def test_deterministic_requests_are_cached_per_key(app_server: AppProcess, upstream: Upstream) -> None:
    prompt = f"cache me {uuid.uuid4()}"
    payload = {"prompt": prompt, "temperature": 0, "model": "plain"}

    def upstream_calls() -> int:
        return sum(1 for r in upstream.requests("plain") if r["body"]["messages"][0]["content"] == prompt)

    with app_server.client() as c:
        first = c.post("/generate", json=payload).json()
        second = c.post("/generate", json=payload).json()
        assert (first["cached"], second["cached"]) == (False, True)
        assert first["text"] == second["text"]
        assert upstream_calls() == 1
        c.post("/generate", json={**payload, "temperature": 0.5})
        assert upstream_calls() == 2  # not deterministic: never cached
        assert 'ai_cache_requests_total{kind="exact",result="hit"}' in c.get("/metrics").text
    with httpx.Client(base_url=app_server.url, headers={"x-api-key": OTHER_KEY}) as other:
        assert other.post("/generate", json=payload).json()["cached"] is False
    assert upstream_calls() == 3


def test_client_leaving_a_stream_still_settles_its_tokens(start_app: StartApp) -> None:
    app = start_app({"APP_RPM_PER_KEY": "0", "APP_TPM_PER_KEY": "2000"})
    with app.client() as c:
        with c.stream(
            "POST", "/generate", json={"prompt": "hi", "model": "slow-stream", "max_tokens": 1500, "stream": True}
        ) as r:
            next(r.iter_bytes())  # the first chunk, then hang up while the upstream is still sending
        time.sleep(0.5)
        after = c.post("/generate", json={"prompt": "hi", "max_tokens": 10})
    # the 1501-token reservation was replaced by the few tokens actually streamed
    remaining = int(after.headers["x-ratelimit-remaining-tokens"])
    assert 2000 - 11 - 20 <= remaining < 2000 - 11, remaining


def test_cache_entries_expire_after_the_ttl(start_app: StartApp, redis_server: RedisServer) -> None:
    app = start_app({"APP_REDIS_URL": redis_server.url, "APP_CACHE_TTL_S": "1"})
    payload = {"prompt": f"ttl {uuid.uuid4()}", "temperature": 0}
    with app.client() as c:
        assert [c.post("/generate", json=payload).json()["cached"] for _ in range(2)] == [False, True]
        time.sleep(1.5)
        assert c.post("/generate", json=payload).json()["cached"] is False


def test_window_totals_follow_the_buckets_as_seconds_go_stale(redis_server: RedisServer) -> None:
    """The admission script keeps a running total ('t') instead of summing the window: with a 2-second
    window, the total must always equal the live buckets, and stale seconds must free their count."""
    redis_server.flush()
    r = Redis(port=redis_server.port)
    key = "rlw:key:window-test:rpm"

    def run(op: Operation) -> Any:
        keys, args = encode([op])
        (result,) = decode(r.eval(LIMITS_LUA, len(keys), *keys, *args))  # type: ignore[arg-type]
        return result

    def admit(cost: int, limit: int = 5) -> list[int]:
        return numbers(run(Operation("a", [key], [2, 1, 0, limit, cost])))  # a 2-second window

    def buckets() -> int:
        return sum(int(v) for f, v in r.hgetall(key).items() if f not in (b"t", b"o"))  # type: ignore[union-attr]

    try:
        assert [admit(2)[0] for _ in range(3)] == [1, 1, 0]  # 2 + 2 pass, a third 2 would make 6 > 5
        assert int(r.hget(key, "t")) == buckets() == 4  # type: ignore[arg-type]
        refused = admit(5)
        assert refused[:2] == [0, 1] and 1 <= refused[2] <= 2  # retry after the oldest bucket leaves
        bucket = admit(1)[4]
        run(Operation("s", [key], [1, bucket, "0", -1]))  # the settlement takes it back
        assert int(r.hget(key, "t")) == buckets() == 4  # type: ignore[arg-type]
        _, micros = r.time()  # type: ignore[misc]
        time.sleep(2 + (1_000_000 - micros) / 1e6 + 0.05)  # the whole window went stale; now just into a second
        assert admit(5)[0] == 1
        assert int(r.hget(key, "t")) == buckets() == 5  # type: ignore[arg-type]
        time.sleep(1)  # the next second: the bucket is still in the 2-second window
        assert admit(0)[5] == 5 and admit(1)[0] == 0
        time.sleep(1)
        assert admit(1)[5] == 0  # all of it went stale
        assert int(r.hget(key, "t")) == buckets() == 1  # type: ignore[arg-type]
    finally:
        r.close()


def test_limits_survive_redis_losing_its_scripts(app_server: AppProcess, redis_server: RedisServer) -> None:
    """After SCRIPT FLUSH (or a Redis restart) the scripts are loaded again; no request fails."""
    with app_server.client() as c:
        assert c.post("/generate", json={"prompt": "hi"}).status_code == 200
        redis_server.cli("script", "flush")
        r = c.post("/generate", json={"prompt": "hi"})
        assert r.status_code == 200, r.text
        assert int(r.headers["x-ratelimit-remaining"]) >= 0


def test_the_limiter_reconnects_when_redis_drops_its_connection(redis_server: RedisServer) -> None:
    """The limiter keeps one connection of its own; a server that drops it (failover, idle timeout) costs
    no request: the batch goes again on a new connection."""
    redis_server.flush()

    async def scenario() -> list[int]:
        client = AsyncRedis(port=redis_server.port)
        settings = Settings.model_validate({"auth_required": False, "rpm_per_key": 5, "tpm_per_key": 0})
        limiter = Limiter(settings, RedisStore(client, 5.0))
        allowed = [int((await limiter.admit("k", "198.51.100.1", 10)).allowed)]
        killer = Redis(port=redis_server.port)
        try:
            assert killer.client_kill_filter(_type="normal", skipme=True) >= 1  # type: ignore[operator]
        finally:
            killer.close()
        for _ in range(5):
            allowed.append(int((await limiter.admit("k", "198.51.100.1", 10)).allowed))
        await limiter.aclose()
        await client.aclose()
        return allowed

    assert asyncio.run(scenario()) == [1, 1, 1, 1, 1, 0]  # exact across the reconnect: 5 a minute


def _limiter(redis_server: RedisServer, rpm: int, timeout_s: float = 5.0) -> tuple[AsyncRedis, Limiter]:
    client = AsyncRedis(port=redis_server.port, password=redis_server.password)
    settings = Settings.model_validate({"auth_required": False, "rpm_per_key": rpm, "tpm_per_key": 0})
    return client, Limiter(settings, RedisStore(client, timeout_s))


def test_the_limiter_authenticates_like_the_app(redis_with_password: RedisServer) -> None:
    """redis-py opens the limiter's connection (AUTH with the token, as ElastiCache needs) before the
    limiter reads it."""

    async def scenario() -> list[bool]:
        client, limiter = _limiter(redis_with_password, rpm=2)
        allowed = [(await limiter.admit("k", "198.51.100.2", 1)).allowed for _ in range(3)]
        await limiter.aclose()
        await client.aclose()
        return allowed

    redis_with_password.flush()
    assert uvloop.run(scenario()) == [True, True, False]


def test_a_caller_that_stops_waiting_leaves_the_connection_in_step(redis_server: RedisServer) -> None:
    """A reply goes to the oldest command, waited for or not: a cancelled wait never shifts later answers."""

    async def scenario() -> tuple[Any, Any]:
        client = AsyncRedis(port=redis_server.port)
        link = Link(client)
        blocked = asyncio.ensure_future(link.call("BLPOP", f"empty-{uuid.uuid4().hex}", "0.3"))
        await asyncio.sleep(0.05)
        blocked.cancel()  # its reply (nil, after 0.3 s) still comes, and is dropped
        echoed = await link.call("ECHO", "mine")
        pong = await link.call("PING")
        await link.close()
        await client.aclose()
        return echoed, pong

    assert uvloop.run(scenario()) == (b"mine", b"PONG")


def test_a_redis_that_stops_answering_times_out_and_the_next_admission_reconnects(
    redis_server: RedisServer,
) -> None:
    """Admissions wait `timeout_s` at most (then the app answers 503); the stuck connection is dropped, so
    the admissions after the pause go on a new one instead of queueing behind it."""
    redis_server.flush()

    async def scenario() -> tuple[str, list[bool]]:
        client, limiter = _limiter(redis_server, rpm=100, timeout_s=0.3)
        assert (await limiter.admit("k", "198.51.100.3", 1)).allowed
        pauser = Redis(port=redis_server.port)
        try:
            pauser.execute_command("CLIENT", "PAUSE", "800", "ALL")
            try:
                await limiter.admit("k", "198.51.100.3", 1)
                outcome = "answered"
            except RedisTimeoutError as exc:
                outcome = str(exc)
            await asyncio.sleep(0.7)
        finally:
            pauser.close()
        after = [(await limiter.admit("k", "198.51.100.3", 1)).allowed for _ in range(3)]
        await limiter.aclose()
        await client.aclose()
        return outcome, after

    outcome, after = uvloop.run(scenario())
    assert outcome == "Redis did not answer within 0.3 s"
    assert after == [True, True, True]


def test_concurrent_admissions_stay_exact_when_some_callers_leave(redis_server: RedisServer) -> None:
    """30 concurrent admissions against a limit of 10, a third of the callers cancelled while waiting:
    the others' answers are their own, and no more than 10 pass."""
    redis_server.flush()

    async def scenario() -> tuple[int, int]:
        client, limiter = _limiter(redis_server, rpm=10)
        tasks = [asyncio.ensure_future(limiter.admit("k", "198.51.100.4", 1)) for _ in range(30)]
        await asyncio.sleep(0)
        for task in tasks[::3]:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        answered = [o for o in outcomes if not isinstance(o, BaseException)]
        later = await limiter.admit("k", "198.51.100.4", 1)  # the window is full either way
        await limiter.aclose()
        await client.aclose()
        assert not later.allowed
        return len(answered), sum(o.allowed for o in answered)

    answered, allowed = uvloop.run(scenario())
    assert answered == 20
    assert allowed <= 10
