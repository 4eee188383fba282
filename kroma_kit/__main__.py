from kroma_kit.cli import main

raise SystemExit(main())
