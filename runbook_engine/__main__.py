from runbook_engine.cli import main

raise SystemExit(main())
