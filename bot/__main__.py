"""``python -m bot`` runs the ``nextpractice`` command (useful where the script is not on PATH)."""

from bot.cli import main

raise SystemExit(main())
