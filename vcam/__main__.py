from vcam.cli import main

raise SystemExit(main())
