"""A server the bench measures runs in a session of its own, with the least CPU share."""

import os
from pathlib import Path

import pytest

from devtools.api_process import ApiProcess


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroups on this kernel")
def test_with_the_least_cpu_share_it_leads_a_session_whose_autogroup_is_at_nice_19(migrated_dsn, tmp_path):
    # Empty for a process in the root autogroup (a container's init session, say).
    own_group = Path("/proc/self/autogroup").read_text()
    with ApiProcess(migrated_dsn, tmp_path / "api.log", least_cpu_share=True) as api:
        pid = api.process.pid
        assert os.getsid(pid) == pid != os.getsid(0)
        assert Path(f"/proc/{pid}/autogroup").read_text().split()[-2:] == ["nice", "19"]
        assert Path("/proc/self/autogroup").read_text() == own_group
