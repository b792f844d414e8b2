"""One instance folder: with OCOPKIT_INSTANCE_PATH set, the app's secret key, compiled
catalogues, uploaded photos and the demo all land there; nothing is written into the
checkout or the packages. Shipped folders are found through the installed package."""
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from sqlalchemy import select

import ocopkit
from ocopkit import create_app
from ocopkit.resources import instance_path, package_folder
from shop.models import ProductImage
from tests.factories import log_in
from tests.shop.booth_data import jpeg, make_shop

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", "mutants"}


def _checkout_files() -> set[str]:
    found = set()
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if s not in SKIP]
        found |= {os.path.relpath(os.path.join(folder, n), ROOT) for n in names}
    return found


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def test_shipped_folders_are_found_through_the_package():
    package = Path(ocopkit.__file__).parent
    assert (package_folder("templates") / "home.html").is_file()
    assert (package_folder("static") / "site.css").is_file()
    assert (package_folder("migrations") / "alembic.ini").is_file()
    assert package_folder("templates").parent == package / "_data"
    assert package_folder("translations") == package / "translations"


def test_instance_path_defaults_to_instance_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("OCOPKIT_INSTANCE_PATH")
    monkeypatch.chdir(tmp_path)
    assert instance_path() == tmp_path / "instance"


def test_every_write_goes_to_the_instance_folder(monkeypatch, tmp_path, session, database_url):
    before_files, before_status = _checkout_files(), _git_status()
    instance = tmp_path / "instance"
    monkeypatch.setenv("OCOPKIT_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    bare = create_app()  # no key, no database, no media folder given: all from the instance
    assert bare.config["DATABASE_URL"] == f"sqlite:///{instance / 'ocopkit.sqlite3'}"
    assert bare.config["MEDIA_ROOT"] == str(instance / "media")
    assert bare.config["SECRET_KEY"] == (instance / "secret_key").read_text().strip()

    app = create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    shop = make_shop(session)
    session.commit()
    log_in(client, session, shop.officer.username)
    response = client.post(f"/booths/{shop.booth.id}/products/new", data={
        "name": "Chè Shan Tuyết", "unit": "gói", "price_vnd": "120.000", "stock": "5",
        "category": "tea", "status": "published", "ocop_stars": "",
        "photo": (io.BytesIO(jpeg(640, 480)), "che.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 302
    image = session.scalar(select(ProductImage))
    assert list((instance / "media").rglob(f"{image.key}_320.webp"))
    assert "Sản phẩm OCOP trực tuyến" in client.get("/").get_data(as_text=True)
    assert (instance / "translations" / "vi" / "LC_MESSAGES" / "messages.mo").is_file()

    from ocopkit.demo import prepare_demo

    demo, credentials = prepare_demo()
    assert demo.config["DATABASE_URL"] == f"sqlite:///{instance / 'demo.sqlite3'}"
    assert (instance / "demo-outside-sales.csv").is_file()
    assert any((instance / "demo-media").rglob("*.webp")) and len(credentials) == 3

    assert _git_status() == before_status
    assert _checkout_files() - before_files == set()
