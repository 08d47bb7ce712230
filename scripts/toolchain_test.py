"""scripts/toolchain.sh, for a user who is not root and has no sudo."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from settings import PROJECT_ROOT

pytestmark = pytest.mark.own_process  # runs the toolchain script in a sandbox of its own

TOOLCHAIN = PROJECT_ROOT / "scripts" / "toolchain.sh"


def test_missing_packages_are_named_with_the_command_that_installs_them():
    # As root (CI), act as the unprivileged `postgres` user; either way, with no sudo on PATH.
    user = "postgres" if os.geteuid() == 0 else None
    bin_dir = Path(tempfile.mkdtemp(prefix="appconfig-nosudo-"))
    try:
        bin_dir.chmod(0o755)
        for tool in ("dpkg-query", "grep", "id"):
            (bin_dir / tool).symlink_to(shutil.which(tool))
        # The script's text, not its path: the user may not be able to enter the checkout.
        script = TOOLCHAIN.read_text() + '\napt_install "the browser tests" appconfig-no-such-package bash\n'

        result = subprocess.run(
            ["/bin/bash", "-c", script],
            env={"PATH": str(bin_dir), "HOME": "/nonexistent"},
            user=user,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(bin_dir)

    assert result.returncode == 1
    assert "sudo" not in result.stderr.replace("no sudo", "")
    assert "apt-get install appconfig-no-such-package" in result.stderr
    assert " bash" not in result.stderr  # installed already: not named
