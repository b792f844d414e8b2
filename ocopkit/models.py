"""Imports every package's models so the metadata (and Alembic) sees all tables."""


def load_all() -> None:
    import ocopkit.limits  # noqa: F401
    import ocopkit.twofactor  # noqa: F401
    import ocopkit.users  # noqa: F401
    import onboarding.models  # noqa: F401
    import payments.models  # noqa: F401
    import shop.models  # noqa: F401
