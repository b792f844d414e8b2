"""An officer registers a household in a real browser, with JavaScript off."""
from __future__ import annotations

from sqlalchemy import select

from onboarding.models import ChangeRecord, Producer
from ocopkit.users import Role
from tests.factories import PASSWORD, make_commune, make_user, totp_code


def test_officer_logs_in_and_registers_a_household(live_server, page, session):
    commune = make_commune(session, name="Mường Phăng")
    officer = make_user(session, Role.officer, communes=[commune], display_name="Lò Thị Mai")
    session.commit()

    page.goto(f"{live_server}/login")
    page.fill("#username", officer.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#code", totp_code(session, officer.username))
    page.click("button[type=submit]")
    page.goto(f"{live_server}/producers/new")
    page.fill("#code", "DB-HH-900")
    page.fill("#name", "Hộ Lò Văn Pánh")
    page.fill("#phone", "0912 345 678")
    page.select_option("#ethnic_group", label="Thái (03)")
    page.select_option("#commune", label="Mường Phăng")
    page.fill("#village", "Bản Công")
    page.click("form.card button[type=submit]")

    assert page.locator("h1").inner_text().startswith("Hộ Lò Văn Pánh")
    assert "0912345678" in page.content()
    producer = session.scalar(select(Producer).where(Producer.code == "DB-HH-900"))
    assert producer.ethnic_group.name == "Thái" and producer.phone == "0912345678"
    record = session.scalar(select(ChangeRecord).where(ChangeRecord.producer_id == producer.id))
    assert record.actor_id == officer.id
