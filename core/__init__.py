"""Shared kernel: settings, database, tables, states, errors, storage, messages."""
