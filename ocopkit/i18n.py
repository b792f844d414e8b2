"""Flask-Babel set-up: Vietnamese first, English second; catalogues compiled on demand
(into the instance folder, never into the package); Jinja filters for local times and
error messages."""
from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request
from flask_babel import Babel, format_date, format_datetime, get_locale, gettext

from ocopkit.errors import DomainError
from ocopkit.money import format_vnd
from ocopkit.resources import package_folder

TRANSLATIONS = package_folder("translations")
LANG_COOKIE = "lang"

babel = Babel()


def compile_catalogs(target: Path, force: bool = False) -> list[Path]:
    """Write target/<lang>/LC_MESSAGES/messages.mo for each shipped .po it is older than;
    returns the files written."""
    written = []
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        mo_path = target / po_path.relative_to(TRANSLATIONS).with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo_path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo_path)
        written.append(mo_path)
    return written


def catalogue_folder(instance: Path) -> Path:
    """A wheel's own catalogues (setup.py compiled them and dropped the .po); with .po files
    (a source checkout, an editable install) they are compiled into instance/translations,
    so nothing is ever written into the package."""
    if not any(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        return TRANSLATIONS
    target = instance / "translations"
    compile_catalogs(target)
    return target


def select_locale() -> str:
    """?lang=en, then the lang cookie, then Vietnamese; commands use CLI_LANGUAGE."""
    languages = ("vi", "en")
    if not has_request_context():
        return current_app.config.get("CLI_LANGUAGE", "vi")
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    return "vi"


def error_text(error: DomainError) -> str:
    """A domain error's message in the current language."""
    return gettext(error.message, **error.params)


# Four-digit years, day first in Vietnamese (as printed on packaging); Babel's "short"
# would give 1/10/27.
_DATE_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def local_date(value) -> str:
    if not value:
        return ""
    return format_date(value, _DATE_FORMATS.get(get_locale().language, "medium"))


def local_datetime(value) -> str:
    """A stored UTC time shown in Asia/Ho_Chi_Minh."""
    if not value:
        return ""
    return format_datetime(value, "HH:mm " + _DATE_FORMATS.get(get_locale().language, "medium"))


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(catalogue_folder(Path(app.instance_path))))
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["vnd"] = format_vnd

    @app.after_request
    def _remember_language(response):
        lang = request.args.get("lang")
        if lang in ("vi", "en") and request.cookies.get(LANG_COOKIE) != lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=app.config["SESSION_COOKIE_SECURE"])
        return response
