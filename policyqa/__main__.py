from policyqa.cli import main

raise SystemExit(main())
