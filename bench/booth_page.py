"""Booth page throughput against a bare Flask app rendering 24 cards, in one run.

    python bench/booth_page.py [SECONDS] [WORKERS]

Seeds a temp SQLite file with one published booth of 24 products (each with a photo row),
serves ocopkit and a bare Flask app with the same gunicorn settings (sync workers) on
loopback, loads each alternately from client processes (new connection per request, as
sync workers close them), and prints both request rates and the ratio. Target: >= 0.35.
"""
from __future__ import annotations

import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CARDS = 24
CLIENT_PROCESSES = 2
THREADS_PER_PROCESS = 8

BARE_TEMPLATE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>{{ title }}</title><link rel="stylesheet" href="/static/site.css"></head><body><main>
<h1>{{ title }}</h1><ul class="grid">
{% for p in products %}<li class="pc"><a href="/products/{{ p.id }}-{{ p.slug }}">
<img src="/media/{{ p.key }}_320.webp" width="320" height="240" loading="lazy" alt="{{ p.name }}">
<b>{{ p.name }}</b></a><p class="price">{{ p.price }} / {{ p.unit }}</p>
<form method="post" action="/cart/add"><input type="hidden" name="csrf_token" value="{{ token }}">
<input type="hidden" name="product_id" value="{{ p.id }}"><input type="number" name="quantity"
value="1" min="1"><button type="submit">Add to cart</button></form></li>{% endfor %}
</ul></main></body></html>"""


def bare_app():
    """A Flask app that renders 24 cards from a list in memory (no database, no session)."""
    from flask import Flask, render_template_string

    app = Flask("bare")
    products = [{"id": i, "slug": f"san-pham-{i}", "key": f"{i:032x}", "name": f"Sản phẩm {i}",
                 "price": f"{120000 + i:,} ₫".replace(",", "."), "unit": "gói"}
                for i in range(1, CARDS + 1)]

    @app.get("/")
    def page():
        return render_template_string(BARE_TEMPLATE, title="Gian hàng", products=products,
                                      token="x" * 90)
    return app


def ocopkit_app():
    from ocopkit import create_app

    return create_app({"DATABASE_URL": os.environ["BENCH_DATABASE_URL"], "SECRET_KEY": "bench"})


def seed(url: str) -> str:
    """One published booth with 24 photographed products; returns its path."""
    from sqlalchemy.orm import Session

    from ocopkit.access import SYSTEM
    from ocopkit.db import make_engine
    from ocopkit.migrate import upgrade
    from ocopkit.users import Role, create_user
    from onboarding.models import Commune, ProducerKind
    from onboarding.producers import ProducerData, record_consent, register_producer
    from shop import booths
    from shop.models import ProductImage

    upgrade(url)
    with Session(make_engine(url)) as session:
        commune = Commune(code="B001", name="Xã Mường Phăng")
        session.add(commune)
        session.flush()
        officer = create_user(session, username="bench", password="bench-pass",
                              role=Role.officer, communes=[commune])
        producer = register_producer(session, SYSTEM, ProducerData(
            code="P1", kind=ProducerKind.cooperative, name="HTX Chè Tủa Chùa", commune=commune,
            village="Bản Phăng", ocop_stars=4))
        booth = booths.create_booth(session, officer, producer, title="Chè Tủa Chùa",
                                    story="Chè cổ thụ trên núi cao.")
        for i in range(1, CARDS + 1):
            product = booths.create_product(session, officer, booth, booths.ProductData(
                name=f"Chè Shan Tuyết loại {i}", unit="gói", price_vnd=120000 + i * 1000,
                stock=10, category="tea", status="published"))
            session.add(ProductImage(product_id=product.id, position=1, key=f"{i:032x}",
                                     width=640, height=480))
        record_consent(session, officer, producer, "publish_booth")
        booths.publish_booth(session, officer, booth)
        session.commit()
        return f"/booths/{booth.id}-{booth.slug}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(spec: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(HERE), "-w", str(workers),
         "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning", spec],
        env=env)
    for _ in range(200):
        try:
            if _get(port, "/") is not None:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{spec} did not start")


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _client(args) -> tuple[int, int]:
    port, path, seconds = args
    done, errors = [0], [0]
    stop = time.monotonic() + seconds

    def loop():
        while time.monotonic() < stop:
            try:
                ok = _get(port, path) == 200
            except OSError:
                ok = False
            done[0] += ok
            errors[0] += not ok
    threads = [threading.Thread(target=loop) for _ in range(THREADS_PER_PROCESS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], errors[0]


def load(pool, port: int, path: str, seconds: float) -> float:
    start = time.monotonic()
    results = pool.map(_client, [(port, path, seconds)] * CLIENT_PROCESSES)
    elapsed = time.monotonic() - start
    ok, errors = (sum(r[i] for r in results) for i in (0, 1))
    if errors:
        print(f"  {errors} failed requests on {path}")
    return ok / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    url = f"sqlite:///{tempfile.mkdtemp(prefix='ocopkit-bench-')}/bench.sqlite3"
    path = seed(url)
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    ports = free_port(), free_port()
    servers = [serve("booth_page:ocopkit_app()", ports[0], workers, env),
               serve("booth_page:bare_app()", ports[1], workers, env)]
    try:
        assert _get(ports[0], path) == 200, "the booth page does not answer 200"
        rates = {"ocopkit": [], "bare": []}
        with multiprocessing.Pool(CLIENT_PROCESSES) as pool:
            load(pool, ports[0], path, 1)  # warm up both
            load(pool, ports[1], "/", 1)
            for _ in range(3):  # interleaved rounds: the machine is shared and noisy
                rates["ocopkit"].append(load(pool, ports[0], path, seconds))
                rates["bare"].append(load(pool, ports[1], "/", seconds))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()
    ours, bare = (statistics.median(rates[k]) for k in ("ocopkit", "bare"))
    print(f"gunicorn sync x{workers}, {CLIENT_PROCESSES * THREADS_PER_PROCESS} client threads, "
          f"3 rounds of {seconds:g} s, medians")
    print(f"bare Flask, 24 cards : {bare:8.0f} req/s")
    print(f"ocopkit booth page   : {ours:8.0f} req/s  ({path})")
    print(f"ratio                : {ours / bare:8.2f}  (target >= 0.35)")


if __name__ == "__main__":
    main()
