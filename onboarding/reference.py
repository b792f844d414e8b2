"""The 54 officially recognised ethnic groups of Vietnam, with the General Statistics Office's
two-digit codes (Decision 121-TCTK/PPCĐ), and the spellings people also write for them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.text import fold_key
from onboarding.models import EthnicGroup

ETHNIC_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("01", "Kinh", ("Việt",)),
    ("02", "Tày", ()),
    ("03", "Thái", ()),
    ("04", "Hoa", ("Hán",)),
    ("05", "Khơ-me", ("Khmer", "Khơ Me")),
    ("06", "Mường", ()),
    ("07", "Nùng", ()),
    ("08", "Mông", ("H'Mông", "HMông", "Hmong", "Mèo")),
    ("09", "Dao", ()),
    ("10", "Gia-rai", ("Jrai", "Gia Lai")),
    ("11", "Ngái", ()),
    ("12", "Ê-đê", ("Rhade", "Edeh")),
    ("13", "Ba-na", ("Bahnar",)),
    ("14", "Xơ-đăng", ("Sedang",)),
    ("15", "Sán Chay", ("Cao Lan",)),
    ("16", "Cơ-ho", ("Koho", "K'Ho")),
    ("17", "Chăm", ("Chàm", "Cham")),
    ("18", "Sán Dìu", ()),
    ("19", "Hrê", ()),
    ("20", "Mnông", ("M'Nông",)),
    ("21", "Ra-glai", ("Raglai",)),
    ("22", "Xtiêng", ("Stiêng",)),
    ("23", "Bru-Vân Kiều", ("Vân Kiều", "Bru")),
    ("24", "Thổ", ()),
    ("25", "Giáy", ()),
    ("26", "Cơ-tu", ("Katu",)),
    ("27", "Gié-Triêng", ("Giẻ Triêng",)),
    ("28", "Mạ", ()),
    ("29", "Khơ-mú", ("Khơ Mú", "Khmu", "Kmhmu")),
    ("30", "Co", ("Cor",)),
    ("31", "Tà-ôi", ("Ta Oi", "Pa Cô")),
    ("32", "Chơ-ro", ("Chơ Ro",)),
    ("33", "Kháng", ()),
    ("34", "Xinh-mun", ("Xinh Mun",)),
    ("35", "Hà Nhì", ("Hani",)),
    ("36", "Chu-ru", ("Chu Ru",)),
    ("37", "Lào", ("Lao",)),
    ("38", "La Chí", ()),
    ("39", "La Ha", ()),
    ("40", "Phù Lá", ()),
    ("41", "La Hủ", ()),
    ("42", "Lự", ("Lư",)),
    ("43", "Lô Lô", ()),
    ("44", "Chứt", ()),
    ("45", "Mảng", ()),
    ("46", "Pà Thẻn", ()),
    ("47", "Cơ Lao", ("Co Lao",)),
    ("48", "Cống", ()),
    ("49", "Bố Y", ()),
    ("50", "Si La", ()),
    ("51", "Pu Péo", ()),
    ("52", "Brâu", ()),
    ("53", "Ơ Đu", ("Ơ-đu",)),
    ("54", "Rơ-măm", ("Rơ Măm",)),
)


def ethnic_group_lookup(session: Session) -> dict[str, EthnicGroup]:
    """Every accepted spelling (folded) and code, mapped to its group."""
    by_code = {g.code: g for g in session.scalars(select(EthnicGroup))}
    lookup: dict[str, EthnicGroup] = {}
    for code, name, aliases in ETHNIC_GROUPS:
        group = by_code.get(code)
        if group is None:
            continue
        lookup[code] = group
        lookup[str(int(code))] = group
        for spelling in (name, *aliases):
            lookup[fold_key(spelling)] = group
    return lookup


def find_ethnic_group(lookup: dict[str, EthnicGroup], value: str) -> EthnicGroup | None:
    value = value.strip()
    return lookup.get(value) or lookup.get(fold_key(value))
