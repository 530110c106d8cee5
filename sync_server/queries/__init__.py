"""Read queries over the authoritative grid; all SQL that reads lives here."""
