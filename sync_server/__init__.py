"""The GridSweep sync server: the authoritative grid, the sync API and the admin console."""
