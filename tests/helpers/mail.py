"""A mail server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The one address the server refuses ("550 No such mailbox"), for tests of a refusal.
REFUSED = "gone@example.org"


@dataclass
class Mailbox:
    """The messages the server accepted: (recipients, raw message) each."""

    port: int
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: Any) -> str:
        if address == REFUSED:
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"
