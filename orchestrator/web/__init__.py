"""The HTTP side: REST API (/api/v1), the operators' console pages, metrics, platform callbacks."""
