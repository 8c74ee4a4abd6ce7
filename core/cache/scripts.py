"""The cache's Lua scripts, and a script call as a value: which script, its KEYS and
its ARGV, called by SHA (core.cache.run sends the text only when Redis lacks it)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import NamedTuple

from core.cache.scopes import keys_of


class ScriptCall(NamedTuple):
    """One call of a Lua script: ``text`` (sent only when Redis lacks ``sha``)."""

    text: str
    sha: str
    keys: tuple[str, ...]
    argv: tuple

    @property
    def args(self) -> tuple:
        """EVAL/EVALSHA's arguments after the script: numkeys, KEYS, ARGV."""
        return (len(self.keys), *self.keys, *self.argv)


def sha_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def clock() -> int:
    """Where a counter Redis lost restarts: the clock in microseconds, never 0."""
    return time.time_ns() // 1000


# Reads the counters of ``keys`` (restarting a missing one from ``clock``) and, when
# ``entry`` is not empty, the entry entry .. token .. suffix: the versions and a
# cached answer in one round trip, with the versions inside the entry's key.
# A Lua function, so that core.fast_path can run it and the throttle's counter in one
# script (lookup_call gives its KEYS and ARGV).
LOOKUP_FUNCTION = """
local function lookup(keys, clock, entry, suffix)
local parts = {}
for i, k in ipairs(keys) do
  local v = redis.call('GET', k)
  if not v then
    v = clock
    redis.call('SET', k, v)
  end
  parts[i] = v
end
local token = table.concat(parts, '.')
if entry == '' then return {token, false} end
return {token, redis.call('GET', entry .. token .. suffix)}
end
"""
LOOKUP = LOOKUP_FUNCTION + "return lookup(KEYS, ARGV[1], ARGV[2], ARGV[3])\n"
LOOKUP_SHA = sha_of(LOOKUP)
BUMP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
"""
BUMP_SHA = sha_of(BUMP)


def lookup_call(
    scopes: Sequence[str], entry: str | None = None, suffix: str = ""
) -> ScriptCall:
    """The versions of ``scopes`` and the entry ``entry`` at them (``read_lookup``
    parses the reply). Its KEYS and ARGV are LOOKUP_FUNCTION's, for scripts that
    call it."""
    return ScriptCall(
        LOOKUP, LOOKUP_SHA, keys_of(scopes), (clock(), entry or "", ":" + suffix)
    )


def bump_call(key: str) -> ScriptCall:
    return ScriptCall(BUMP, BUMP_SHA, (key,), (clock(),))


def parse_token(token: str) -> tuple[int, ...]:
    return tuple(int(p) for p in token.split(".")) if token else ()


def token_of(versions: Sequence[int]) -> str:
    return ".".join(str(v) for v in versions)
