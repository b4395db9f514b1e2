"""``python -m dsobridge``: the same command line as ``dsobridge``."""

from dsobridge.cli import main

if __name__ == "__main__":
    main()
