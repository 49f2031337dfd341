"""Non-API views: health check (and, later, the client form page)."""
