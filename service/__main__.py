import sys

from service.cmd.api import main

sys.exit(main())
