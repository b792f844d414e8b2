"""ocopkit: the app factory. Each step is a named function, so the app's shape fits on one screen.

Flask is imported inside the factory so that `import ocopkit.users` (and every domain
module) works in a bare Python process without loading Flask.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ocopkit.config import load_config
from ocopkit.resources import instance_path, package_folder

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict | None = None) -> Flask:
    from flask import Flask

    app = Flask("ocopkit", template_folder=str(package_folder("templates")),
                static_folder=str(package_folder("static")), instance_path=str(instance_path()))
    load_config(app, overrides)
    trust_proxies(app)
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TLS proxies, take the client's address and scheme from the X-Forwarded-*
    headers the last TRUSTED_PROXIES hops set (login limits are per address); with none
    (the default) those headers are ignored, so a client cannot forge them."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    from ocopkit import auth, db, i18n, limits, models
    from ocopkit.forms import csrf

    models.load_all()
    db.init_app(app)
    limits.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)


def register_converters(app: Flask) -> None:
    from ocopkit.urls import register_converters as register_id_converter

    register_id_converter(app)


def register_blueprints(app: Flask) -> None:
    from ocopkit.site import bp as site_bp
    from onboarding.privacy_views import bp as privacy_bp
    from onboarding.report_views import bp as reports_bp
    from onboarding.views import bp as onboarding_bp
    from payments.order_views import bp as pay_bp
    from payments.views import bp as payments_bp
    from shop.order_views import bp as orders_bp
    from shop.trace_views import bp as trace_bp
    from shop.views import bp as shop_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(trace_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(pay_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(privacy_bp)


def register_errorhandlers(app: Flask) -> None:
    from ocopkit.site import register_errorhandlers as register_site_errors

    register_site_errors(app)


def register_security_headers(app: Flask) -> None:
    from ocopkit.site import add_security_headers

    app.after_request(add_security_headers)
