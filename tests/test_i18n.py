"""Vietnamese is the default language and its catalogue is complete."""
from __future__ import annotations

from babel.messages.pofile import read_po

from ocopkit.i18n import TRANSLATIONS, compile_catalogs


def _catalog(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_vietnamese_catalogue_has_no_untranslated_or_fuzzy_message():
    catalog = _catalog("vi")
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    untranslated = [m.id for m in messages
                    if not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_catalogues_cover_every_message_in_the_template():
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        template_ids = {m.id for m in read_po(f) if m.id}
    for lang in ("vi", "en"):
        assert template_ids <= {m.id for m in _catalog(lang) if m.id}, lang


def test_placeholders_survive_translation():
    catalog = _catalog("vi")
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        for placeholder in ("%(", "%s"):
            assert message.id.count(placeholder) == message.string.count(placeholder), message.id


def test_catalogues_compile_outside_the_package(tmp_path):
    assert compile_catalogs(tmp_path, force=True)
    assert (tmp_path / "vi" / "LC_MESSAGES" / "messages.mo").stat().st_size > 1000
    assert compile_catalogs(tmp_path) == []


def test_pages_speak_vietnamese_by_default_and_english_on_request(client):
    vi = client.get("/login").get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="vi">' in vi and "Đăng nhập" in vi
    assert '<html lang="en">' in en and "Log in" in en and "Đăng nhập" not in en


def test_template_catalogue_is_up_to_date_with_the_code():
    """Every message in the code and templates is in messages.pot (run `ocopkit i18n
    extract` and translate after adding text)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    from ocopkit.config import ROOT

    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
    found = {message for _, _, message, _, _ in
             extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}
    found = {m if isinstance(m, str) else m[0] for m in found}
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        template_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert found - template_ids == set()
