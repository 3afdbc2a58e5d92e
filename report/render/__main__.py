"""python -m report.render: see report.render."""
from report.render.cli import main

raise SystemExit(main())
