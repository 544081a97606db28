"""Hand-offs between threads: newest-wins mailbox, recycled frame buffers."""
from __future__ import annotations

import threading

import numpy as np

from vcam.live.mailbox import Frame, FramePool, Mailbox, run_thread

SHAPE = (32, 48, 3)


# --- FramePool -----------------------------------------------------------------------------------

def test_pool_hands_out_distinct_zeroed_buffers_of_its_shape():
    pool = FramePool(SHAPE, count=3)
    frames = [pool.acquire() for _ in range(3)]
    assert len({id(f) for f in frames}) == 3
    assert len({id(f.image) for f in frames}) == 3
    for f in frames:
        assert f.image.shape == SHAPE and f.image.dtype == np.uint8
        assert not f.image.any()
        assert f.pool is pool
    assert pool.grown == 0


def test_pool_grows_only_when_emptied_and_says_so():
    pool = FramePool(SHAPE, count=2)
    a, b = pool.acquire(), pool.acquire()
    c = pool.acquire()
    assert pool.grown == 1
    assert c.image.shape == SHAPE and c.pool is pool
    for f in (a, b, c):
        f.release()
    again = [pool.acquire() for _ in range(3)]   # the grown frame is kept: no further growth
    assert {id(f) for f in again} == {id(a), id(b), id(c)}
    assert pool.grown == 1


def test_pool_recycles_buffers_in_a_produce_consume_loop():
    pool = FramePool(SHAPE, count=3)
    images = set()
    for i in range(100):
        frame = pool.acquire()
        frame.image[...] = i % 256
        frame.times["x"] = 1.0
        images.add(id(frame.image))
        frame.release()
    assert pool.grown == 0
    assert len(images) <= 3


def test_pool_clears_times_on_acquire():
    pool = FramePool(SHAPE, count=1)
    frame = pool.acquire()
    frame.times["capture"] = 0.5
    frame.release()
    again = pool.acquire()
    assert again is frame
    assert again.times == {}


def test_release_twice_does_not_duplicate_a_buffer():
    pool = FramePool(SHAPE, count=3)
    frame = pool.acquire()
    frame.release()
    frame.release()
    taken = [pool.acquire() for _ in range(3)]
    assert len({id(f) for f in taken}) == 3      # the same frame was not handed out twice
    assert pool.grown == 0


def test_frame_without_pool_releases_quietly():
    frame = Frame(np.zeros(SHAPE, np.uint8))
    frame.release()   # nothing to return it to; must not raise
    assert frame.pool is None


# --- Mailbox -------------------------------------------------------------------------------------

def test_mailbox_newest_wins_and_the_older_frame_goes_back_to_the_pool():
    pool = FramePool(SHAPE, count=3)
    box = Mailbox()
    first, second = pool.acquire(), pool.acquire()
    first.seq, second.seq = 1, 2
    box.put(first)
    box.put(second)
    assert box.put_count == 2 and box.dropped == 1
    got = box.get(timeout=0)
    assert got is second
    assert box.get(timeout=0) is None            # one slot: nothing else waiting
    # ``first`` is free again: the pool hands out the two free ones without growing
    free = [pool.acquire(), pool.acquire()]
    assert first in free
    assert pool.grown == 0


def test_mailbox_get_times_out_with_none():
    box = Mailbox()
    assert box.get(timeout=0.05) is None
    assert box.get(timeout=0) is None
    assert box.put_count == 0 and box.dropped == 0


def test_mailbox_get_returns_a_waiting_frame_at_once():
    box = Mailbox()
    frame = Frame(np.zeros(SHAPE, np.uint8), seq=7)
    box.put(frame)
    assert box.get(timeout=0) is frame
    assert box.dropped == 0


def test_mailbox_get_wakes_when_a_frame_is_put():
    box = Mailbox()
    got = []
    started = threading.Event()

    def consumer():
        started.set()
        got.append(box.get(timeout=10))

    thread = run_thread("test-consumer", consumer)
    assert thread.daemon and thread.name == "vcam-test-consumer"
    started.wait(5)
    frame = Frame(np.zeros(SHAPE, np.uint8), seq=3)
    box.put(frame)
    thread.join(5)
    assert not thread.is_alive()
    assert got == [frame]


def test_mailbox_close_wakes_a_waiting_getter():
    box = Mailbox()
    got = []
    started = threading.Event()

    def consumer():
        started.set()
        got.append(box.get(timeout=30))     # would wait 30 s unless close() wakes it

    thread = run_thread("test-waiter", consumer)
    started.wait(5)
    box.close()
    thread.join(5)
    assert not thread.is_alive(), "close() did not wake the waiting get()"
    assert got == [None]
    assert box.closed


def test_mailbox_close_returns_the_waiting_frame_to_its_pool():
    pool = FramePool(SHAPE, count=1)
    box = Mailbox()
    frame = pool.acquire()
    box.put(frame)
    box.close()
    assert box.get(timeout=0) is None
    assert pool.acquire() is frame and pool.grown == 0
    box.close()                                 # safe twice
    assert box.closed


def test_producer_consumer_threads_keep_order_and_do_not_grow_the_pool():
    pool = FramePool(SHAPE, count=3)
    box = Mailbox()
    n = 500

    def producer():
        for i in range(1, n + 1):
            frame = pool.acquire()
            frame.seq = i
            frame.image[0, 0, 0] = i % 256
            box.put(frame)
        box.close()

    seen = []
    thread = run_thread("test-producer", producer)
    while True:
        frame = box.get(timeout=10)
        if frame is None:
            break
        assert frame.image[0, 0, 0] == frame.seq % 256   # the buffer was not overwritten under us
        seen.append(frame.seq)
        frame.release()
    thread.join(5)
    assert seen == sorted(set(seen))             # strictly increasing: never an older frame
    assert box.put_count == n
    assert box.dropped + len(seen) <= n
    # every frame was either delivered, dropped, or still waiting when the box was closed
    assert box.dropped + len(seen) >= n - 1
    assert pool.grown == 0
