"""The `ocopkit` command line: thin wrappers over the domain functions, one commit each."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask_babel import gettext as _
from sqlalchemy import select

from ocopkit.access import SYSTEM
from ocopkit.db import get_session, transaction
from ocopkit.errors import DomainError, Invalid
from ocopkit.i18n import compile_catalogs, error_text


def _create_app():
    from ocopkit import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli():
    """ocopkit: get OCOP producers online."""


def main() -> None:
    cli(prog_name="ocopkit")


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@cli.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision):
    """Create or update the tables (Alembic)."""
    from ocopkit.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(_("Database is up to date."))


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message):
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from ocopkit.migrate import alembic_config

    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message,
                     autogenerate=True)


@cli.group()
def i18n():
    """Translation catalogues."""


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


@i18n.command("extract")
def i18n_extract():
    """Collect the messages of the code and templates into messages.pot and update the
    catalogues (new messages arrive untranslated; tests/test_i18n.py then fails)."""
    from ocopkit.config import ROOT
    from ocopkit.i18n import TRANSLATIONS

    pot = TRANSLATIONS / "messages.pot"
    _pybabel("extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "N_", "--no-location",
             "--sort-output", "-o", str(pot), str(ROOT))
    for lang in ("vi", "en"):
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        _pybabel(command, "-i", str(pot), "-d", str(TRANSLATIONS), "-l", lang,
                 *(["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []))
    click.echo(str(pot))


@i18n.command("compile")
def i18n_compile():
    """Compile the .po catalogues to .mo in the instance folder."""
    from ocopkit.resources import instance_path

    for path in compile_catalogs(instance_path() / "translations", force=True):
        click.echo(str(path))


@cli.command("create-user")
@click.option("--role", type=click.Choice(["admin", "officer", "producer"]), required=True)
@click.option("--username", required=True, help="Login name (a producer's phone number).")
@click.option("--name", "display_name", default="", help="Name shown in the history.")
@click.option("--commune", "communes", multiple=True, help="Commune code (officers; repeatable).")
@click.option("--producer", "producer_code", default=None, help="Producer code (producer logins).")
@click.password_option("--password", help="Password (staff: 12+ characters, not common) or "
                        "PIN (producers: 6 digits); asked for when left out.")
def create_user_command(role, username, display_name, communes, producer_code, password):
    """Create a login."""
    from onboarding.models import Commune, Producer
    from ocopkit.users import create_user

    session = get_session()
    found = list(session.scalars(select(Commune).where(Commune.code.in_(communes))))
    unknown = sorted(set(communes) - {c.code for c in found})
    if unknown:
        _fail(_("Unknown commune code(s): %(codes)s", codes=", ".join(unknown)))
    producer = None
    if producer_code:
        producer = session.scalar(select(Producer).where(Producer.code == producer_code))
        if producer is None:
            _fail(_("Unknown producer code %(code)s", code=producer_code))
    try:
        with transaction(session):
            user = create_user(session, username=username, password=password, role=role,
                               display_name=display_name, communes=found, producer=producer)
    except Invalid as e:
        _fail(error_text(e))
    click.echo(_("User %(name)s created (%(role)s).", name=user.username, role=role))
    if role != "producer":
        click.echo(_("At the first login %(name)s is asked to set up the second factor (an "
                     "authenticator app) before anything else.", name=user.username))


def _fail_import(error) -> None:
    """Every row error of a refused import, in red, then exit 1."""
    for row_error in error.errors:
        message = _(row_error.message, **row_error.params)
        if row_error.row:
            message = _("row %(row)s (line %(line)s), column %(column)s",
                        row=row_error.row, line=row_error.line,
                        column=row_error.column) + ": " + message
        click.secho(message, fg="red", err=True)
    _fail(error_text(error))


def _run_import(importer, path: Path, dry_run: bool) -> None:
    from onboarding.imports import ImportFailed

    data = path.read_bytes()
    session = get_session()
    total = max(1, data.count(b"\n"))
    try:
        with click.progressbar(length=total, label=_("Checking rows"), file=sys.stderr) as bar:
            with transaction(session):
                summary = importer(session, SYSTEM, data, dry_run=dry_run, progress=bar.update)
    except ImportFailed as e:
        _fail_import(e)
    except DomainError as e:
        _fail(error_text(e))
    prefix = _("Check only, nothing written.") + " " if dry_run else ""
    click.echo(prefix + _("%(rows)s rows: %(created)s new, %(updated)s changed, %(unchanged)s "
                          "unchanged.", rows=summary.rows, created=summary.created,
                          updated=summary.updated, unchanged=summary.unchanged))


@cli.command("import-communes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_communes_command(path, dry_run):
    """Import communes from code,name,ethnic_minority_area."""
    from onboarding.imports import import_communes

    _run_import(import_communes, path, dry_run)


@cli.command("import-register")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_register_command(path, dry_run):
    """Import the producer register (all-or-nothing)."""
    from onboarding.imports import import_register

    _run_import(import_register, path, dry_run)


@cli.command("import-transactions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_transactions_command(path, dry_run):
    """Import sales made on other platforms into the ledger (all-or-nothing, idempotent)."""
    from payments.imports import import_transactions

    _run_import(import_transactions, path, dry_run)


@cli.group()
def sales():
    """Sales in the ledger."""


@sales.command("move")
@click.option("--platform", required=True, help="The platform of the sale (Shopee, ...).")
@click.option("--reference", required=True, help="The sale's reference on that platform.")
@click.option("--to", "to_code", required=True, help="The code of the right producer.")
@click.option("--reason", default="", help="Why the sale belongs to that producer (kept in "
                                           "both producers' history).")
def sales_move(platform, reference, to_code, reason):
    """Move a sale imported for the wrong producer to the right one (an admin's correction)."""
    from onboarding.models import Producer
    from payments.ledger import move_sale
    from payments.models import LedgerEntry

    session = get_session()
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.platform == platform,
                                                     LedgerEntry.reference == reference))
    if entry is None:
        _fail(_("No sale %(reference)s of %(platform)s.", reference=reference,
                platform=platform))
    producer = session.scalar(select(Producer).where(Producer.code == to_code))
    if producer is None:
        _fail(_("Unknown producer code %(code)s", code=to_code))
    try:
        with transaction(session):
            move_sale(session, SYSTEM, entry, to_producer=producer, reason=reason)
    except DomainError as e:
        _fail(error_text(e))
    click.echo(_("%(platform)s %(reference)s now belongs to %(code)s.", platform=platform,
                 reference=reference, code=to_code))


@cli.group()
def payments():
    """Card payments."""


@payments.command("reconcile")
@click.option("--hours", default=48, show_default=True, type=click.IntRange(1, 24 * 90))
def payments_reconcile(hours):
    """Repair what lost webhooks missed (payments, and the refunds of recent card sales)
    and release stock of abandoned card payments.

    Run it every few minutes (cron)."""
    from datetime import timedelta

    from payments.abandoned import release_abandoned
    from payments.gateway import GatewayClient, GatewayError
    from payments.refunds import orders_to_recheck, sync_orders
    from payments.transactions import reconcile

    cfg = current_app.config
    client = GatewayClient(cfg["GATEWAY_URL"], cfg["GATEWAY_KEY"])
    session = get_session()
    try:
        with transaction(session):
            repaired = reconcile(session, client, since=timedelta(hours=hours))
        refunds = 0
        for order in orders_to_recheck(session, since=timedelta(hours=hours)):
            with transaction(session):  # one order at a time: its lock is held briefly
                refunds += len(sync_orders(session, client, [order]))
        with transaction(session):
            released = release_abandoned(
                session, client,
                older_than=timedelta(minutes=cfg["CARD_PAYMENT_TIMEOUT_MINUTES"]))
    except GatewayError as e:
        _fail(_("The payment gateway did not answer: %(error)s", error=str(e)))
    click.echo(_("%(n)s payment(s) recorded that a webhook had missed.", n=repaired))
    click.echo(_("%(n)s refund(s) recorded that the gateway had made.", n=refunds))
    click.echo(_("%(n)s unpaid card order(s) cancelled and their stock returned: %(refs)s",
                 n=len(released.cancelled), refs=", ".join(released.cancelled) or "-"))
    if released.problems:
        click.echo(_("%(n)s order(s) kept for staff: the gateway took another amount or "
                     "currency than the order's: %(refs)s", n=len(released.problems),
                     refs=", ".join(released.problems)))
    if released.unreachable:
        click.echo(_("%(n)s order(s) left for the next run: the gateway could not say whether "
                     "they were paid.", n=len(released.unreachable)))


@payments.command("import-statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", default=None,
              help="The account number of the statement: only transfers into it are matched.")
def payments_import_statement(path, account):
    """Confirm VietQR transfers from a bank statement CSV (date,amount,description)."""
    from onboarding.imports import ImportFailed
    from payments.statements import import_statement, to_check

    data = path.read_bytes()
    session = get_session()
    try:
        with click.progressbar(length=max(1, data.count(b"\n")), label=_("Checking rows"),
                               file=sys.stderr) as bar:
            with transaction(session):
                result = import_statement(session, data, account=account, progress=bar.update)
    except ImportFailed as e:
        _fail_import(e)
    except DomainError as e:
        _fail(error_text(e))
    click.echo(_("%(n)s transfer(s) confirmed: %(refs)s", n=len(result.confirmed),
                 refs=", ".join(result.confirmed) or "-"))
    click.echo(_("%(n)s already confirmed before (nothing recorded again).",
                 n=len(result.already_confirmed)))
    for message, params in to_check(result):
        click.secho(_(message, **params), fg="yellow")
    click.echo(_("%(n)s credit(s) name no open order: rows %(rows)s",
                 n=len(result.unmatched),
                 rows=", ".join(str(line.row) for line in result.unmatched) or "-"))
    click.echo(_("%(n)s debit(s) ignored.", n=result.debits))


@cli.command("labels")
@click.option("--batch", "trace_code", required=True, help="The batch's trace code (/t/<code>).")
@click.option("--count", default=24, show_default=True, type=click.IntRange(1, 5000))
@click.option("--format", "fmt", type=click.Choice(["a4", "thermal"]), default="a4",
              show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def labels_command(trace_code, count, fmt, out):
    """Print a batch's QR labels to a 300 dpi PDF."""
    from shop import labels, traceability

    lot = traceability.lot_by_trace_code(get_session(), trace_code)
    if lot is None:
        _fail(_("Unknown batch code %(code)s", code=trace_code))
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        _fail(_("Set OCOPKIT_PUBLIC_BASE_URL (the site's address) so the QR codes lead "
                "to it."))
    data = traceability.lot_label(lot, base)
    per_image = labels.SHEET_COLUMNS * labels.SHEET_ROWS if fmt == "a4" else 1
    images = []
    with click.progressbar(length=count, label=_("Drawing labels"), file=sys.stderr) as bar:
        for start in range(0, count, per_image):
            n = min(per_image, count - start)
            images += (labels.a4_pages([data] * n) if fmt == "a4"
                       else [labels.render_label(data, "thermal")])
            bar.update(n)
    body = labels.pdf(images)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(body)
    os.replace(tmp, out)
    click.echo(_("%(count)s labels written to %(path)s", count=count, path=str(out)))


@cli.group()
def report():
    """Reports."""


@report.command("adoption")
@click.option("--as-of", "as_of", default=None, help="Reporting date YYYY-MM-DD (default today).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx"]),
              default="table", show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of the terminal (required for xlsx).")
@click.option("--suppress-small", is_flag=True,
              help='Show ethnic-group cells under 5 producers as "< 5" (for publication).')
def report_adoption(as_of, fmt, out, suppress_small):
    """Adoption against the 50 % and 60 % OCOP targets."""
    import json
    from datetime import date

    from onboarding import reporting

    try:
        day = date.fromisoformat(as_of) if as_of else reporting.local_today()
    except ValueError:
        _fail(_("as_of must be a date written YYYY-MM-DD."))
    data = reporting.adoption(get_session(), as_of=day)
    if fmt == "xlsx":
        try:
            from openpyxl import Workbook
        except ImportError:
            _fail(_("XLSX needs openpyxl: pip install openpyxl"))
        if out is None:
            _fail(_("XLSX needs --out FILE."))
        book = Workbook()
        sheet = book.active
        for row in reporting.as_rows(data, suppress_small=suppress_small):
            sheet.append([reporting.safe_cell(v) if isinstance(v, str) else v for v in row])
        book.save(out)
        click.echo(str(out))
        return
    if fmt == "json":
        body = json.dumps(reporting.as_json(data, suppress_small=suppress_small),
                          ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        body = reporting.to_csv(reporting.as_rows(data, suppress_small=suppress_small))
    else:
        rows = [[("" if v is None else str(v)) for v in row[1:]]
                for row in reporting.as_rows(data, suppress_small=suppress_small)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        body = "".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n"
                       for r in rows)
    if out is None:
        click.echo(body, nl=False)
    else:
        out.write_text(body, encoding="utf-8")
        click.echo(str(out))


@cli.group()
def privacy():
    """Personal data: purge buyers' details, erase a producer."""


@privacy.command("purge")
@click.option("--days", type=int, default=None,
              help="Keep buyers' details this many days after delivery (default: "
                   "BUYER_DATA_DAYS, 180).")
def privacy_purge(days):
    """Remove buyers' names, phones and addresses from old delivered or cancelled orders."""
    from shop.orders import purge_buyer_data

    session = get_session()
    days = days if days is not None else int(current_app.config["BUYER_DATA_DAYS"])
    try:
        with transaction(session):
            count = purge_buyer_data(session, days=days)
    except Invalid as e:
        _fail(error_text(e))
    click.echo(_("Buyers' details removed from %(n)s order(s) older than %(days)s days.",
                 n=count, days=days))


@privacy.command("erase")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the erasure log).")
def privacy_erase(code, reason):
    """Erase the personal data of the producer with this register code."""
    from onboarding.models import Producer
    from onboarding.privacy import delete_photo_files, erase_producer

    session = get_session()
    producer = session.scalar(select(Producer).where(Producer.code == code))
    if producer is None:
        _fail(_("No producer has the code %(code)s.", code=code))
    try:
        with transaction(session):
            result = erase_producer(session, SYSTEM, producer, reason=reason)
    except DomainError as e:
        _fail(error_text(e))
    delete_photo_files(current_app.config["MEDIA_ROOT"], result.photo_keys)
    click.echo(_("Producer %(code)s erased; %(n)s photo(s) deleted.", code=code,
                 n=len(result.photo_keys)))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=min(2 * (os.cpu_count() or 1) + 1, 5), show_default=True)
@click.option("--demo", is_flag=True, help="Serve a fresh SQLite demo with sample data.")
def serve(host, port, workers, demo):
    """Serve the site with gunicorn."""
    from ocopkit import create_app
    from ocopkit.migrate import database_is_current
    from ocopkit.server import run

    gateway = None
    if demo:
        from ocopkit.demo import demo_file, prepare_demo
        from payments.devgateway import start_localstripe

        try:
            gateway = start_localstripe()
        except RuntimeError as e:
            _fail(str(e))
        secret = "whsec_" + secrets.token_hex(16)
        own_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        gateway.register_webhook(f"http://{own_host}:{port}/payments/webhook", secret)
        app, credentials = prepare_demo({"GATEWAY_URL": gateway.url, "WEBHOOK_SECRET": secret,
                                         "GATEWAY_TEST_CARDS": True})
        click.secho(_("Demo ready at http://%(host)s:%(port)s/", host=host, port=port),
                    fg="green")
        for role, username, password in credentials:
            click.echo(f"  {role}: {username} / {password}")
        click.echo(_("  test payment gateway (localstripe): %(url)s", url=gateway.url))
        sales = demo_file("demo-outside-sales.csv")
        click.echo(_("  outside-platform sales to import: %(path)s", path=sales))
        sys.stdout.flush()
    else:
        app = create_app()
        if not database_is_current(app.config["DATABASE_URL"]):
            _fail(_("The database is not up to date: run `ocopkit db upgrade` first."))
    app.extensions["ocopkit.engine"].dispose()  # no pooled connection crosses the fork
    try:
        run(app, host=host, port=port, workers=workers)
    finally:
        if gateway is not None:
            gateway.stop()


if __name__ == "__main__":
    main()
