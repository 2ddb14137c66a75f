"""The Temporal client, with the pydantic data converter every process shares."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

STARTING_UP_FOR = 30.0
"""How long a connect waits for a server whose port is open but whose frontend is
still starting (a dev server just started, a container just up)."""


def _starting_up(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "not healthy yet" in str(exc)


async def connect(address: str, namespace: str) -> Client:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_starting_up),
        wait=wait_exponential(multiplier=0.1, max=1),
        stop=stop_after_delay(STARTING_UP_FOR),
        reraise=True,
    ):
        with attempt:
            return await Client.connect(
                address, namespace=namespace, data_converter=pydantic_data_converter
            )
    raise AssertionError("unreachable: tenacity reraises the last error")
