"""The `persona` command (see `persona.cli`)."""
