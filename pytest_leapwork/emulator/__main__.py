"""`python -m pytest_leapwork.emulator`: the same as the `leapwork-emulator` command."""

from .cli import main

raise SystemExit(main())
