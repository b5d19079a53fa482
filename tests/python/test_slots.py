"""``Slots``, the free slots and waiting greenlets of a user's requests and of the swarm pacer, on real greenlets in
gevent's hub."""

from __future__ import annotations

import gevent

from pushpop_load.slots import Slots


def test_free_slots_are_taken_without_a_wait() -> None:
    slots = Slots(2)  # nothing else gives any: a take that waited would wait for ever
    with gevent.Timeout(10):
        slots.take()
        slots.take()
    assert slots.free == 0 and not slots.waiters


def test_a_slot_given_back_goes_to_the_longest_waiter_and_the_rest_are_free() -> None:
    slots, woke = Slots(), []

    def user(name: str) -> None:
        slots.take()
        woke.append(name)

    users = [gevent.spawn(user, name) for name in "abc"]
    gevent.sleep(0)  # all three wait
    assert len(slots.waiters) == 3 and slots.free == 0
    slots.give(2)
    gevent.joinall(users[:2], timeout=10)
    assert woke == ["a", "b"] and len(slots.waiters) == 1 and slots.free == 0
    slots.give(3)
    users[2].join(timeout=10)
    assert woke == ["a", "b", "c"] and not slots.waiters and slots.free == 2


def test_a_slot_handed_to_a_greenlet_killed_before_it_woke_goes_to_the_next() -> None:
    slots, woke = Slots(), []

    def user(name: str) -> None:
        slots.take()
        woke.append(name)

    first, second = gevent.spawn(user, "first"), gevent.spawn(user, "second")
    gevent.sleep(0)  # both wait
    first.kill(block=False)  # delivered on the hub's next turn, before the wake-up of the slot given below
    slots.give()
    second.join(timeout=10)
    assert first.dead and second.dead
    assert woke == ["second"] and slots.free == 0 and not slots.waiters


def test_a_greenlet_killed_while_waiting_leaves_the_queue() -> None:
    slots = Slots()
    waiting = gevent.spawn(slots.take)
    gevent.sleep(0)
    assert len(slots.waiters) == 1
    waiting.kill(block=True, timeout=10)
    assert waiting.dead and not slots.waiters and slots.free == 0
    slots.give()
    assert slots.free == 1
