"""A wheel built from the repository runs on its own: installed into a fresh virtualenv and
started from an empty folder outside the checkout, it migrates and serves the Vietnamese
home page with its static files, and writes only into that folder's instance/.

Slow on purpose (marked `slow`, about a minute or two): it builds the wheel and installs it
with its dependencies from the same index and wheel cache pip uses here."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.appserver import free_port

ROOT = Path(__file__).resolve().parent.parent


def _copy_checkout(dest: Path) -> Path:
    """The files git would commit (tracked or new, not ignored): building from a copy keeps
    the build's own folders out of the checkout and stale local files out of the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


def _files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv's bin folder, the installed package's folder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = _copy_checkout(tmp / "checkout")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp / "dist"), str(source)], check=True)
    wheel = next((tmp / "dist").glob("ocopkit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
    bin_dir = tmp / "venv" / "bin"
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", str(wheel)], check=True)
    package = subprocess.run(
        [bin_dir / "python", "-c", "import ocopkit, os; print(os.path.dirname(ocopkit.__file__))"],
        cwd=tmp, check=True, capture_output=True, text=True).stdout.strip()
    return bin_dir, Path(package)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_installed_wheel_migrates_and_serves_from_an_empty_folder(installed, tmp_path):
    bin_dir, package = installed
    assert str(ROOT) not in str(package) and "site-packages" in str(package)
    shipped = _files_under(package)
    assert {"_data/templates/home.html", "_data/static/site.css", "_data/migrations/env.py",
            "translations/vi/LC_MESSAGES/messages.mo"} <= shipped
    assert not any(name.endswith(".po") for name in shipped)
    run = tmp_path / "run"
    run.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("OCOPKIT_INSTANCE_PATH", "PYTHONPATH", "VIRTUAL_ENV")}
    env["DATABASE_URL"] = f"sqlite:///{run / 'site.sqlite3'}"
    upgrade = subprocess.run([bin_dir / "ocopkit", "db", "upgrade"], cwd=run, env=env,
                             capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr

    port = free_port()
    server = subprocess.Popen([bin_dir / "ocopkit", "serve", "--port", str(port),
                               "--workers", "1"], cwd=run, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        home = requests.get(f"{base}/", timeout=10)
        css = requests.get(f"{base}/static/site.css", timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}
    assert home.status_code == 200
    assert '<html lang="vi">' in home.text and "Sản phẩm OCOP trực tuyến" in home.text
    assert css.status_code == 200 and css.text == (ROOT / "static" / "site.css").read_text()
    assert (run / "instance" / "secret_key").exists()
    assert not (run / "instance" / "translations").exists()  # the wheel's own .mo served
    assert _files_under(package) == shipped
