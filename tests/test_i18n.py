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


def test_catalogues_compile(tmp_path):
    assert compile_catalogs(force=True)
    assert (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.mo").stat().st_size > 1000


def test_pages_speak_vietnamese_by_default_and_english_on_request(client):
    vi = client.get("/login").get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="vi">' in vi and "Đăng nhập" in vi
    assert '<html lang="en">' in en and "Log in" in en and "Đăng nhập" not in en
