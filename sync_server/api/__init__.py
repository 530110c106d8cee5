"""HTTP API under /api/v1: thin routes over services and queries."""
