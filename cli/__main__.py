"""`python -m cli` is the same as `pesisir`."""

from cli.main import main

main()
