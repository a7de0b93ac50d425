"""The one error hierarchy of wiretrace.

    WiretraceError
    ├── InvalidInput          bad text, options or configuration  -> INVALID_ARGUMENT
    │   └── TooLarge          over a configured size limit          -> RESOURCE_EXHAUSTED
    ├── NotFound              unknown article id                    -> NOT_FOUND
    ├── Conflict              id exists with a different text       -> ALREADY_EXISTS
    ├── Exhausted             the store is full (disk, quota)       -> RESOURCE_EXHAUSTED
    ├── Unavailable           the store cannot be reached, is       -> UNAVAILABLE
    │                         read-only or broken
    ├── Expired               the caller's deadline passed          -> DEADLINE_EXCEEDED
    └── EngineFault           a bug in the compiled core (a Rust    -> INTERNAL
                              panic, stopped at the binding)

Domain code raises these, and the stores turn their drivers' errors into them; the
transport layers (CLI, gRPC) map them in one place each.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "EngineFault",
    "Exhausted",
    "Expired",
    "InvalidInput",
    "NotFound",
    "TooLarge",
    "Unavailable",
    "WiretraceError",
]


class WiretraceError(Exception):
    """Base class for every error wiretrace raises on purpose."""


class InvalidInput(WiretraceError, ValueError):
    """The caller sent something that cannot be used; the message says how to fix it."""


class TooLarge(InvalidInput):
    """The input is over a configured limit."""


class NotFound(WiretraceError, LookupError):
    """The named object does not exist."""


class Conflict(WiretraceError):
    """The object exists already with different content."""

    @classmethod
    def other_text(cls, article_id: str) -> Conflict:
        """An id that is stored already with another text (the store and the service
        both find this; one message for both)."""
        return cls(
            f"article {article_id!r} is stored with a different text: "
            "set replace to overwrite it, or use a new id"
        )


class Exhausted(WiretraceError):
    """The store has no room left (a full disk): nothing was written; reads still work,
    and writes work again once an operator frees space."""


class Unavailable(WiretraceError):
    """A backend the service depends on cannot be reached now; retrying later may work."""


class Expired(WiretraceError):
    """The caller gave up (deadline or cancellation) before the work was committed."""


class EngineFault(WiretraceError):
    """The compiled core (``wiretrace._core``) failed: a Rust panic, which is a bug.
    The binding stops it and says where; nothing of the call's work is kept."""
