"""`python -m interview_sync` is the same as `interview-sync`."""

from .cli.app import main

if __name__ == "__main__":
    main()
