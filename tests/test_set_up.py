"""Set-up (issue 15, item 18): `make run PORT=8010` serves on that port, and the README lists
every demo login seed_demo makes, with what each can do."""

import shutil
import subprocess
from pathlib import Path

import pytest

from accounts.models import Role
from signposting.management.commands.seed_demo import DEMO_AREAS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_the_port_asked_for():
    def bind(*args: str) -> str:
        # -n: print the commands, run nothing.
        out = subprocess.run(
            [shutil.which("make"), "-n", "run", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return next(line for line in out.splitlines() if "gunicorn" in line)

    assert "--bind 127.0.0.1:8010" in bind("PORT=8010")
    assert "--bind 127.0.0.1:8000" in bind()


def test_the_readme_lists_every_demo_login():
    readme = (ROOT / "README.md").read_text()
    for role in Role:
        login = f"`{role.value.replace('_', '-')}@westminster.demo.example`"
        assert login in readme, login
    for slug in DEMO_AREAS.values():
        assert f"`@{slug}`" in readme or f"@{slug}.demo.example" in readme, slug
