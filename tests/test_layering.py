"""Domain modules are plain Python: they never import Flask, so the CLI, benchmarks and tests
can call them with a bare Session."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from ocopkit import create_app
from ocopkit.config import ROOT

FLASK_AWARE = {"views.py", "order_views.py", "trace_views.py", "report_views.py", "forms.py",
               "order_forms.py", "trace_forms.py", "privacy_views.py"}
CORE_DOMAIN = ("access.py", "errors.py", "text.py", "users.py", "migrate.py", "passwords.py",
               "twofactor.py", "accounts.py")


def _domain_modules() -> list[Path]:
    paths = [ROOT / "ocopkit" / name for name in CORE_DOMAIN]
    for package in ("shop", "onboarding", "payments"):
        paths += [p for p in (ROOT / package).glob("*.py") if p.name not in FLASK_AWARE]
    return paths


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_modules_import_no_flask():
    offenders = {str(p.relative_to(ROOT)): sorted(r for r in _imported_roots(p)
                                                  if r == "flask" or r.startswith("flask_"))
                 for p in _domain_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) >= 8


def test_importing_the_register_code_does_not_load_flask():
    code = ("import sys, onboarding.imports, onboarding.producers, ocopkit.access; "
            "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('flask_')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"


def test_factory_finds_templates_and_static_files():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert app.jinja_env.get_template("base.html") is not None
    assert Path(app.static_folder, "site.css").is_file()
