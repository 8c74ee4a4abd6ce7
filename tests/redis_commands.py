"""Counting what a piece of code sends Redis: the cache's round trips are a cost."""

from __future__ import annotations


def record_redis_commands(monkeypatch) -> list[str]:
    """From now to the test's end, the name of every command the cache's Redis
    client sends is appended to the returned list."""
    from core import cache

    client_class = type(cache.redis_client())
    sent: list[str] = []
    real = client_class.execute_command

    def counted(self, *args, **options):
        sent.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(client_class, "execute_command", counted)
    return sent
