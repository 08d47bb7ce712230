"""`python -m api`: serve on DATABASE_URL (api.server.serve)."""

import sys

from api.server.serve import main

sys.exit(main())
