"""The 54 ethnic groups and the spellings an import accepts for them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ocopkit.text import fold_key
from onboarding.models import EthnicGroup
from onboarding.reference import ETHNIC_GROUPS, ethnic_group_lookup, find_ethnic_group


@pytest.fixture
def lookup(session):
    return ethnic_group_lookup(session)


def test_the_table_holds_the_54_official_groups_with_codes_01_to_54(session):
    stored = {g.code: g.name for g in session.scalars(select(EthnicGroup))}
    assert sorted(stored) == [f"{n:02d}" for n in range(1, 55)]
    assert stored == {code: name for code, name, _ in ETHNIC_GROUPS}
    assert (stored["01"], stored["03"], stored["08"], stored["54"]) == (
        "Kinh", "Thái", "Mông", "Rơ-măm")


def test_only_kinh_is_not_a_minority(session):
    minorities = {g.code for g in session.scalars(select(EthnicGroup)) if g.is_minority}
    assert minorities == {f"{n:02d}" for n in range(2, 55)}


def test_no_spelling_points_at_two_groups():
    owner: dict[str, str] = {}
    for code, name, aliases in ETHNIC_GROUPS:
        for spelling in (name, *aliases):
            key = fold_key(spelling)
            assert key, spelling
            assert owner.setdefault(key, code) == code, (spelling, owner[key], code)
    assert not any(key.isdigit() for key in owner)


@pytest.mark.parametrize("value, name", [
    ("Thái", "Thái"),
    ("Thai", "Thái"),
    ("THÁI", "Thái"),
    ("  thái ", "Thái"),
    ("03", "Thái"),
    ("3", "Thái"),
    ("Hmong", "Mông"),
    ("H'Mông", "Mông"),
    ("HMông", "Mông"),
    ("Mong", "Mông"),
    ("08", "Mông"),
    ("01", "Kinh"),
    ("1", "Kinh"),
    ("kinh", "Kinh"),
    ("Khmer", "Khơ-me"),
    ("Khơ Me", "Khơ-me"),
    ("khome", "Khơ-me"),
    ("Bru Van Kieu", "Bru-Vân Kiều"),
    ("Ê Đê", "Ê-đê"),
    ("e-de", "Ê-đê"),
    ("Ơ Đu", "Ơ Đu"),
    ("o du", "Ơ Đu"),
    ("54", "Rơ-măm"),
])
def test_official_name_alias_or_code_finds_the_group(lookup, value, name):
    group = find_ethnic_group(lookup, value)
    assert group is not None and group.name == name


@pytest.mark.parametrize("value", ["", "Thái Đen", "00", "55", "003", "Kinh Thượng", "Việt Nam"])
def test_anything_else_finds_nothing(lookup, value):
    assert find_ethnic_group(lookup, value) is None


def test_every_official_name_finds_itself_in_any_case(lookup):
    for code, name, _ in ETHNIC_GROUPS:
        assert find_ethnic_group(lookup, name).code == code
        assert find_ethnic_group(lookup, name.upper()).code == code
        assert find_ethnic_group(lookup, str(int(code))).code == code
