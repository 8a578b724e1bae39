"""The one family of refusals a service raises; the request boundary (boundary.py) shows them.

A service that refuses raises `ServiceError(message, field)`: the message is for the user, already
translated; `field` names the form field it belongs next to. Subclasses only choose the HTTP status.
"""

from __future__ import annotations


class ServiceError(ValueError):
    """A change refused for a reason the user must read (next to `field`, else as a flash)."""

    status = 400

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(ServiceError):
    """The actor may see the thing but not change it: always a 403, never a form error."""

    status = 403


class Conflict(ServiceError):
    """The thing changed since the user loaded it (an optimistic-lock version mismatch)."""

    status = 409
