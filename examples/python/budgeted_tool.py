"""``@budgeted``: charge a tollgate wallet before a plain Python tool function runs.

The wrapped function keeps its name, docstring and signature (``functools.wraps``), so it can be
handed to AutoGen's ``register_function`` (or any framework that reads a function's signature)
exactly like the original::

    @budgeted(researcher, price=30, service="web_search")
    def web_search(query: str) -> str:
        '''Searches the web.'''
        ...

    register_function(web_search, caller=assistant, executor=user_proxy, description="...")

When the wallet cannot pay, the tool does not run and returns a ``PAYMENT_LIMIT_REACHED: ...``
string instead of raising: the model reads it as the tool's answer and can wrap up, and a
termination condition can watch for it (or poll ``wallet.is_exhausted()``).
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from tollgate_client import Charge, InsufficientCreditsError, Wallet

P = ParamSpec("P")
R = TypeVar("R")

_current_charge: ContextVar[Charge | None] = ContextVar("tollgate_charge", default=None)


def current_charge() -> Charge | None:
    """Inside a budgeted tool: the charge that paid for this call (its ``.credential`` is what a
    paid API, or a proxy in front of it, verifies instead of a master key)."""
    return _current_charge.get()


def budgeted(
    wallet: Wallet, *, price: int, service: str, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | str]]:
    """Charges ``price`` credits of ``wallet`` on ``service`` before each call of the tool.

    Other errors (wrong key, closed wallet, server down after retries) propagate: they are faults
    to fix, not a budget the model should reason about.
    """

    def decorate(tool: Callable[P, R]) -> Callable[P, R | str]:
        tool_name = name or tool.__name__

        @functools.wraps(tool)
        def paid(*args: P.args, **kwargs: P.kwargs) -> R | str:
            try:
                charge = wallet.spend(price, service=service, metadata={"tool": tool_name})
            except InsufficientCreditsError as refusal:
                return (
                    f"PAYMENT_LIMIT_REACHED: {wallet.name or wallet.id} has {refusal.available}"
                    f" credits left; {tool_name} costs {price}"
                )
            token = _current_charge.set(charge)
            try:
                return tool(*args, **kwargs)
            finally:
                _current_charge.reset(token)

        return paid

    return decorate
