"""What the service does to its process: here, the open-files limit (signals are tested on a served
API in watch_test.py)."""

import subprocess
import sys

from settings import PROJECT_ROOT


def test_the_soft_open_files_limit_is_raised_to_the_hard_limit():
    # In a process of its own: the limit is the whole process's.
    probe = (
        "import resource; from api.process import raise_open_files_limit; "
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); "
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard)); "
        "raise_open_files_limit(); "
        "print(resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard), hard > 256)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True"]
