from __future__ import annotations

import pytest

from lienthong.producer.idempotency import Conflict, IdempotencyCache


async def test_first_claim_owns_the_key_and_later_claims_share_its_answer() -> None:
    cache = IdempotencyCache[str](10, 60)
    assert cache.claim(("ep", "e1"), "fp") is None
    waiting = cache.claim(("ep", "e1"), "fp")
    assert waiting is not None
    assert not waiting.done()
    cache.settle(("ep", "e1"), "202")
    assert await waiting == "202"


async def test_a_different_body_conflicts() -> None:
    cache = IdempotencyCache[str](10, 60)
    cache.claim(("ep", "e1"), "fp")
    with pytest.raises(Conflict):
        cache.claim(("ep", "e1"), "other")


async def test_keys_are_per_caller() -> None:
    cache = IdempotencyCache[str](10, 60)
    assert cache.claim(("ep-a", "e1"), "fp") is None
    assert cache.claim(("ep-b", "e1"), "other") is None


async def test_released_key_can_be_claimed_again_and_waiters_hear_the_failure() -> None:
    cache = IdempotencyCache[str](10, 60)
    cache.claim(("ep", "e1"), "fp")
    waiting = cache.claim(("ep", "e1"), "fp")
    cache.release(("ep", "e1"), "503")
    assert waiting is not None
    assert await waiting == "503"
    assert cache.claim(("ep", "e1"), "fp") is None


async def test_entries_expire_and_the_oldest_are_evicted() -> None:
    now = [0.0]
    cache = IdempotencyCache[str](2, 60, clock=lambda: now[0])
    for name in ("e1", "e2", "e3"):
        cache.claim(("ep", name), "fp")
        cache.settle(("ep", name), "202")
    assert len(cache) == 2
    assert cache.claim(("ep", "e1"), "fp") is None  # evicted: a fresh claim
    now[0] = 61.0
    assert cache.claim(("ep", "e3"), "other") is None  # expired: no conflict any more


async def test_zero_entries_disables_the_cache() -> None:
    cache = IdempotencyCache[str](0, 60)
    assert cache.claim(("ep", "e1"), "fp") is None
    assert cache.claim(("ep", "e1"), "other") is None


async def test_an_entry_still_being_answered_is_never_evicted() -> None:
    cache = IdempotencyCache[str](1, 60)
    cache.claim(("ep", "slow"), "fp")
    waiting = cache.claim(("ep", "slow"), "fp")
    cache.claim(("ep", "e2"), "fp")  # over the bound, but "slow" is pending: both stay
    assert len(cache) == 2
    cache.settle(("ep", "slow"), "202")
    assert waiting is not None
    assert await waiting == "202"


async def test_eviction_resumes_once_the_pending_entry_is_answered() -> None:
    now = [0.0]
    cache = IdempotencyCache[str](2, 60, clock=lambda: now[0])
    cache.claim(("ep", "slow"), "fp")  # the oldest, pending: the bound yields to it
    for name in ("e1", "e2", "e3"):
        cache.claim(("ep", name), "fp")
        cache.settle(("ep", name), "202")
    assert len(cache) == 4
    cache.settle(("ep", "slow"), "202")
    now[0] = 1.0
    cache.claim(("ep", "e4"), "fp")  # the next claim evicts from the oldest on
    assert len(cache) == 2
    assert cache.claim(("ep", "slow"), "other") is None  # gone: a fresh claim, no conflict


async def test_expired_entries_go_even_under_the_bound() -> None:
    now = [0.0]
    cache = IdempotencyCache[str](100, 60, clock=lambda: now[0])
    for name in ("e1", "e2"):
        cache.claim(("ep", name), "fp")
        cache.settle(("ep", name), "202")
    now[0] = 61.0
    cache.claim(("ep", "e3"), "fp")
    assert len(cache) == 1
