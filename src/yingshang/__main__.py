from yingshang.cli import main

raise SystemExit(main())
