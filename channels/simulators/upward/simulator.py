"""An upward platform on loopback: the desk with its HTTP API and its editorial mailbox."""

from __future__ import annotations

from typing import Any

from channels.simulators.upward.api import UpwardHttp
from channels.simulators.upward.mailbox import EditorialMailbox


class UpwardSimulator(UpwardHttp, EditorialMailbox):
    """An upward platform: subclasses give the contract (`api`, `limits`) and the envelope."""

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            **self.platform_settings(),
        }

    def platform_settings(self) -> dict[str, Any]:
        """The settings of this platform beyond its address and credentials."""
        return {}
