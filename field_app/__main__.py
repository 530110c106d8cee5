"""`python -m field_app`: the same as the `gridsweep-app` command (field_app/cli.py)."""

from field_app.cli import main

main()
