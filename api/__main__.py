"""`python -m api`: see api/serve.py."""

import sys

from api.serve import main

sys.exit(main())
