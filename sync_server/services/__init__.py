"""Domain services: take `*, session`, never commit, raise `sync_server.errors` on failure."""
