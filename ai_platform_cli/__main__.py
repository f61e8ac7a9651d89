import sys

from ai_platform_cli.main import main

sys.exit(main())
