"""Where the files ocopkit ships (templates, static files, migrations, catalogues) and the
files it writes (the instance folder) live, so neither depends on the source checkout."""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def package_folder(name: str) -> Path:
    """A folder shipped inside the installed package: `templates`, `static`, `migrations`
    (under ocopkit/_data, which links to the source tree's top level) or `translations`."""
    base = files("ocopkit")
    return Path(str(base / name if name == "translations" else base / "_data" / name))


def instance_path() -> Path:
    """OCOPKIT_INSTANCE_PATH, or `instance/` in the working directory: every writable file
    (database, secret key, media, demo, compiled catalogues of an editable install)."""
    return Path(os.environ.get("OCOPKIT_INSTANCE_PATH") or "instance").resolve()
