"""The Celery app and its tasks: thin glue between the orchestrator and the channels.

celery -A tasks worker      sends, one queue per channel (publish.<channel>) + sanshen
celery -A tasks beat        dispatch_due and reconcile on a timer (or `sanshen scheduler`)
"""

from tasks.app import app

__all__ = ["app"]
