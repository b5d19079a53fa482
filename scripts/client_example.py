"""Mode 3 of the seed's README: a custom script on pushpop-load's engine, outside Locust.

    .venv/bin/python scripts/client_example.py http://localhost:8000 [--items 1000] [--concurrency 50]

Pushes ITEMS items to a fresh queue with CONCURRENCY requests in flight (asyncio), pops them all back at depth 100,
checks that every item came back once and in priority order, and prints the exact latency percentiles.
Exits 1 when the queue lost or duplicated an item, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pushpop_load import Client
from pushpop_load.payloads import make_queue_id


async def run(base_url: str, items: int, concurrency: int) -> int:
    client = Client(base_url, timeout=30)
    queue = make_queue_id("example")
    limit = asyncio.Semaphore(concurrency)

    async def push(n: int) -> None:
        async with limit:
            await client.apush(queue, {"n": n}, priority=n % 3)

    await asyncio.gather(*(push(n) for n in range(items)))
    popped: list[dict] = []
    while batch := await client.apop(queue, depth=100):
        popped += batch
    seen = [item["n"] for item in popped]
    lost, duplicated = set(range(items)) - set(seen), len(seen) - len(set(seen))
    in_order = [n % 3 for n in seen] == sorted(n % 3 for n in seen)
    print(f"queue {queue}: pushed {items}, popped {len(seen)}, lost {len(lost)}, duplicated {duplicated}, "
          f"priority order {'kept' if in_order else 'BROKEN'}")
    for entry in client.stats():
        p50, p99 = dict(entry["percentiles"])[50.0], dict(entry["percentiles"])[99.0]
        print(f"  {entry['method']} {entry['name']}: {entry['count']} requests, p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
              f"max {entry['max_ms']:.3f} ms")
    return 0 if not lost and not duplicated and in_order else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="the service, e.g. http://localhost:8000")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    if args.items < 1 or args.concurrency < 1:
        parser.error("--items and --concurrency must be at least 1")
    try:
        Client(args.base_url)
    except ValueError as error:
        parser.error(str(error))
    return asyncio.run(run(args.base_url, args.items, args.concurrency))


if __name__ == "__main__":
    sys.exit(main())
