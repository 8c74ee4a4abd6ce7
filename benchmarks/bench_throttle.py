"""The anonymous throttle's Redis script alone: the sliding-window counter
(core.throttling, by its SHA) against the two it replaced, in the same run, blocks
alternated: the sliding-window log (as it was called: EVAL with the whole text on
every request; and by EVALSHA) and GCRA (by EVALSHA), both verbatim below.

    REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python benchmarks/bench_throttle.py

Each block is one fresh client sending `--rate` requests (all admitted, its first
period at the full rate: the log grows to `rate` members, its worst case), one round
trip each, then `--rate` more, refused (but for GCRA's refill, one per period/rate).
Variants, in a new random order every round: the log by EVAL (the first release), the
log by EVALSHA (to separate the two effects), GCRA by EVALSHA (the second), the
sliding-window counter by EVALSHA (now). Prints round trips per
second (medians over the rounds), the ratio to the log by EVAL, and each variant's
Redis memory for one such client. Then the same blocks sent as one pipeline each
(one round trip per block), which leaves mostly Redis's own time per call: what the
single-threaded Redis of every web process spends on each request's throttle.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# core/throttling.py before GCRA (commit 272539c), verbatim.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, t[1] .. '.' .. t[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now}
"""
# core/throttling.py with GCRA (commit 35dbf26), verbatim.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local limit = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + interval
if new - now > limit then
  return {0, 0, new - limit - now}
end
local ttl = math.ceil((new - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', ttl)
return {1, math.floor((limit - (new - now)) / interval), 0}
"""
PERIOD_US = 60_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=600, help="requests per minute")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    import django
    import redis

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    django.setup()
    from core.throttling import SLIDING_COUNTER, SLIDING_COUNTER_SHA, SUBWINDOWS

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    log_sha = client.script_load(SLIDING_WINDOW)
    gcra_sha = client.script_load(GCRA)
    assert client.script_load(SLIDING_COUNTER) == SLIDING_COUNTER_SHA
    interval = -(-PERIOD_US // args.rate)
    sub = -(-PERIOD_US // SUBWINDOWS)

    # Each takes the client or a pipeline (the arguments as core.throttling sent them).
    def log_eval(key: str, to) -> list:
        tag = os.urandom(6).hex()
        return to.eval(SLIDING_WINDOW, 1, key, PERIOD_US, args.rate, tag)

    def log_sha_call(key: str, to) -> list:
        tag = os.urandom(6).hex()
        return to.evalsha(log_sha, 1, key, PERIOD_US, args.rate, tag)

    def gcra(key: str, to) -> list:
        return to.evalsha(gcra_sha, 1, key, interval, args.rate)

    def counter(key: str, to) -> list:
        return to.evalsha(SLIDING_COUNTER_SHA, 1, key, sub, args.rate, SUBWINDOWS)

    variants = {
        "log, EVAL": log_eval,
        "log, EVALSHA": log_sha_call,
        "GCRA": gcra,
        "sw counter": counter,
    }
    load = os.getloadavg()[0]
    for pipelined in (False, True):
        rates, memory = measure(client, variants, args, pipelined)
        reference = {k: statistics.median(v) for k, v in rates["log, EVAL"].items()}
        how = "one pipeline per block" if pipelined else "one round trip per call"
        print(
            f"{args.rounds} rounds x {args.rate} admitted + {args.rate} refused "
            f"each, {how}"
        )
        for name in variants:
            admitted = statistics.median(rates[name]["admitted"])
            refused = statistics.median(rates[name]["refused"])
            a_ratio = admitted / reference["admitted"]
            r_ratio = refused / reference["refused"]
            print(
                f"  {name:13} admitted {admitted:8.0f}/s x{a_ratio:5.2f}"
                f"   refused {refused:8.0f}/s x{r_ratio:5.2f}"
                f"   memory per client {memory[name]:6d} B"
            )
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")


def measure(client, variants: dict, args, pipelined: bool) -> tuple[dict, dict]:
    rates = {name: {"admitted": [], "refused": []} for name in variants}
    memory = {}
    for r in range(args.rounds):
        for name in random.sample(list(variants), len(variants)):
            call = variants[name]
            key = f"bench-throttle:{hashlib.sha1(name.encode()).hexdigest()[:8]}:{r}"
            client.delete(key)
            spans = []
            for _phase in ("admitted", "refused"):  # refused: but GCRA's refill
                t0 = time.perf_counter()
                if pipelined:
                    pipe = client.pipeline(transaction=False)
                    for _ in range(args.rate):
                        call(key, pipe)
                    pipe.execute()
                else:
                    for _ in range(args.rate):
                        call(key, client)
                spans.append(time.perf_counter() - t0)
            rates[name]["admitted"].append(args.rate / spans[0])
            rates[name]["refused"].append(args.rate / spans[1])
            memory[name] = client.memory_usage(key)
            client.delete(key)
    return rates, memory


if __name__ == "__main__":
    main()
