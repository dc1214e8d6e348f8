"""``@budgeted``: pay for a plain Python tool function out of a tollgate wallet.

The wrapped function keeps its name, docstring and signature (``functools.wraps``), so it can be
handed to AutoGen's ``register_function`` (or any framework that reads a function's signature)
exactly like the original::

    @budgeted(researcher, price=30, service="web_search")
    def web_search(query: str) -> str:
        '''Searches the web.'''
        ...

    register_function(web_search, caller=assistant, executor=user_proxy, description="...")

By default each call holds ``price`` before the tool runs, captures it when the tool returns and
voids it when the tool raises, as the TypeScript ``withBudget`` does: a tool that fails costs
nothing. ``upfront=True`` spends ``price`` before the tool runs instead (one call instead of two,
but a failing tool stays charged), for paid APIs that bill every attempt.

When the wallet cannot pay, the tool does not run and returns a ``PAYMENT_LIMIT_REACHED: ...``
string instead of raising: the model reads it as the tool's answer and can wrap up, and a
termination condition can watch for it (or poll ``wallet.is_exhausted()``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from tollgate_client import Charge, Hold, InsufficientCreditsError, TollgateError, Wallet

P = ParamSpec("P")
R = TypeVar("R")

_current_charge: ContextVar[Charge | Hold | None] = ContextVar("tollgate_charge", default=None)


def current_charge() -> Charge | Hold | None:
    """Inside a budgeted tool: the hold (or, with ``upfront``, the charge) paying for this call.
    Its ``.credential`` is what a paid API, or a proxy in front of it, verifies instead of a master
    key; ``.remaining`` is what the wallet has left beside it."""
    return _current_charge.get()


def budgeted(
    wallet: Wallet,
    *,
    price: int,
    service: str,
    name: str | None = None,
    upfront: bool = False,
    hold_ttl_seconds: int = 0,
) -> Callable[[Callable[P, R]], Callable[P, R | str]]:
    """Pays ``price`` credits of ``wallet`` on ``service`` for each call of the tool: held, then
    captured on return or voided on exception (``upfront``: spent before the call).

    ``hold_ttl_seconds`` (0: the server's default, 300 s) must outlast the tool, or the capture
    fails with HOLD_EXPIRED after the hold was released. Other errors (wrong key, closed wallet,
    server down after retries) propagate: they are faults to fix, not a budget the model should
    reason about.
    """

    def decorate(tool: Callable[P, R]) -> Callable[P, R | str]:
        tool_name = name or tool.__name__
        # Calling an ``async def`` only creates its coroutine: the charge would be captured before
        # the tool ran and a failure would never void it. The client is synchronous, so refuse
        # such tools here rather than settle them wrongly.
        if inspect.iscoroutinefunction(tool) or inspect.isasyncgenfunction(tool):
            raise TypeError(
                f"@budgeted: {tool_name} is async; wrap a synchronous function (this client is"
                " synchronous), or charge around the await with wallet.authorize/capture/void"
            )
        metadata = {"tool": tool_name}

        @functools.wraps(tool)
        def paid(*args: P.args, **kwargs: P.kwargs) -> R | str:
            try:
                payment: Charge | Hold = (
                    wallet.spend(price, service=service, metadata=metadata)
                    if upfront
                    else wallet.authorize(
                        price, service=service, metadata=metadata, ttl_seconds=hold_ttl_seconds
                    )
                )
            except InsufficientCreditsError as refusal:
                return (
                    f"PAYMENT_LIMIT_REACHED: {wallet.name or wallet.id} has {refusal.available}"
                    f" credits left; {tool_name} costs {price}"
                )
            token = _current_charge.set(payment)
            try:
                result = tool(*args, **kwargs)
            except BaseException as failure:
                if isinstance(payment, Hold):
                    _void_keeping(failure, wallet, payment)
                raise
            finally:
                _current_charge.reset(token)
            if isinstance(payment, Hold):
                wallet.capture(payment.id, price)
            return result

        return paid

    return decorate


def _void_keeping(failure: BaseException, wallet: Wallet, hold: Hold) -> None:
    """Voids the hold of a tool that raised. If the void fails too, the tool's own exception
    still propagates (it is what the caller must see), noting the hold that stays until it
    expires."""
    try:
        wallet.void(hold.id)
    except TollgateError as void_failure:
        failure.add_note(
            f"tollgate: voiding hold {hold.id} failed ({void_failure}); its credits are released"
            f" when it expires at {hold.expires_at.isoformat()}"
        )
