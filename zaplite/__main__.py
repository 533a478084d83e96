"""``python -m zaplite`` runs the command line."""

from zaplite.cli import main

main()
