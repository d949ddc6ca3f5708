"""The `pesisir` command: the composition root."""
