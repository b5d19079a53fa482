"""The swarm pacer: its rule for slots that find users busy (``slots_to_give``), and the order its slots reach the
users waiting for them (real greenlets in gevent's hub)."""

from __future__ import annotations

import gevent

from pushpop_load.pacer import SwarmPacer, slots_to_give


def test_a_millisecond_of_slots_is_kept_for_busy_users() -> None:
    # at 2,000/s the hub hands out slots a millisecond (two slots) at a time: a lone user busy with its task keeps
    # both, and a third that the hub was late for
    assert slots_to_give(due=2, waiting=0, saved=0, rate=2000) == 2
    assert slots_to_give(due=5, waiting=0, saved=0, rate=2000) == 3
    # kept slots count against the millisecond's worth
    assert slots_to_give(due=2, waiting=0, saved=2, rate=2000) == 1
    assert slots_to_give(due=2, waiting=0, saved=3, rate=2000) == 0
    assert slots_to_give(due=2, waiting=0, saved=9, rate=2000) == 0


def test_waiting_users_take_what_is_due_and_no_burst_is_saved() -> None:
    assert slots_to_give(due=40, waiting=100, saved=0, rate=20000) == 40
    # 60 due, 10 waiting: they take 10, and 21 are kept (one, and a millisecond at 20,000/s); 29 are dropped
    assert slots_to_give(due=60, waiting=10, saved=0, rate=20000) == 31
    # at a low rate one slot is kept, as before
    assert slots_to_give(due=3, waiting=0, saved=0, rate=10) == 1
    assert slots_to_give(due=1, waiting=0, saved=1, rate=10) == 0


def test_slots_go_to_the_users_in_the_order_they_began_to_wait() -> None:
    # a slot every 20 ms: the hub's lateness can only bunch them, never reorder them
    pacer, order = SwarmPacer(lambda: 50, lambda: None), []

    def user(name: str) -> None:
        pacer.acquire()
        order.append(name)

    users = [gevent.spawn(user, name) for name in "abcde"]
    assert gevent.joinall(users, timeout=30) == users
    pacer.reset()
    assert order == list("abcde")
