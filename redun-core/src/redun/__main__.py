"""``python -m redun`` runs the CLI."""

from redun.cli.main import main

if __name__ == "__main__":
    main()
