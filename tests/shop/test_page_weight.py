"""Budgets as tests: the booth page with 24 products stays small, script-free, with bounded
images, and costs a fixed number of SQL queries; one small stylesheet for every page."""
from __future__ import annotations

import re

from sqlalchemy import event

from ocopkit.config import ROOT

from .booth_data import published_shop

PAGE_BYTES = 40 * 1024
CSS_BYTES = 15 * 1024
MAX_QUERIES = 6


def _booth_html(session, client, engine):
    shop = published_shop(session, products=24)
    session.commit()
    url = f"/booths/{shop.booth.id}-{shop.booth.slug}"
    client.get(url)  # warm up: templates compiled, reference data cached
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return response.get_data(), statements


def test_booth_page_with_24_products_is_within_budget(session, client, engine):
    body, statements = _booth_html(session, client, engine)
    html = body.decode()
    print(f"booth page: {len(body)} bytes, {len(statements)} queries")
    assert len(body) < PAGE_BYTES, len(body)
    assert b"<script" not in body.lower()
    images = re.findall(r"<img\b[^>]*>", html)
    assert len(images) == 24
    for tag in images:
        for attribute in ("width=", "height=", 'loading="lazy"', "alt="):
            assert attribute in tag, tag
    assert len(statements) <= MAX_QUERIES, statements
    assert html.count('rel="stylesheet"') == 1


def test_one_small_stylesheet():
    assert (ROOT / "static" / "site.css").stat().st_size < CSS_BYTES
    assert [p.name for p in (ROOT / "static").glob("*.css")] == ["site.css"]
