"""The alerts service's one SQLite writer serves flags before journey snapshots."""

import asyncio

from services.alerts.consumer import FlagsFirst


def test_a_journeys_chunk_waits_while_a_flag_batch_is_in_hand() -> None:
    async def scenario() -> list[str]:
        gate = FlagsFirst()
        await gate.journeys_turn()  # no flag in hand: snapshots go at once
        order: list[str] = []
        in_hand, stored = asyncio.Event(), asyncio.Event()

        async def flags() -> None:
            async with gate.flags():
                in_hand.set()
                await stored.wait()
                order.append("flags")

        async def journeys() -> None:
            await in_hand.wait()
            await gate.journeys_turn()
            order.append("journeys")

        tasks = [asyncio.create_task(flags()), asyncio.create_task(journeys())]
        await in_hand.wait()
        for _ in range(10):  # every task has run as far as it can
            await asyncio.sleep(0)
        assert order == []  # the snapshots wait, however long the flags take
        stored.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["flags", "journeys"]


def test_the_turn_comes_only_when_no_flag_batch_is_left() -> None:
    async def scenario() -> bool:
        gate = FlagsFirst()
        async with gate.flags():
            async with gate.flags():
                pass
            waiting = asyncio.create_task(gate.journeys_turn())
            await asyncio.sleep(0)
            still_waiting = not waiting.done()
        await waiting
        return still_waiting

    assert asyncio.run(scenario())
