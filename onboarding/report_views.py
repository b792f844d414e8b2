"""Adoption report pages and exports (issue 6): HTTP only, the numbers come from
onboarding.reporting. Officers and admins only; others get 404 (or the login page)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ocopkit.access import can_manage_commune
from ocopkit.auth import role_required
from ocopkit.db import get_session
from ocopkit.errors import NotFound
from ocopkit.users import Role
from onboarding import reporting
from onboarding.models import Commune

bp = Blueprint("reports", __name__, url_prefix="/reports")
STAFF = (Role.admin, Role.officer)


def _as_of() -> date:
    raw = request.args.get("as_of")
    if not raw:
        return reporting.local_today()
    try:
        day = date.fromisoformat(raw)
        if not 2000 <= day.year <= 2100:
            raise ValueError(raw)
        return day
    except ValueError:
        abort(Response(_("as_of must be a date written YYYY-MM-DD."), status=400,
                       mimetype="text/plain"))


def _suppress() -> bool:
    """Officers see the whole province, beyond their own communes: small ethnic-group
    cells are suppressed for them; admins see every number."""
    return current_user.role != Role.admin


@bp.get("/adoption.json")
@role_required(*STAFF)
def adoption_json():
    report = reporting.adoption(get_session(), as_of=_as_of())
    return jsonify(reporting.as_json(report, suppress_small=_suppress()))


@bp.get("/adoption.csv")
@role_required(*STAFF)
def adoption_csv():
    as_of = _as_of()
    report = reporting.adoption(get_session(), as_of=as_of)
    body = reporting.to_csv(reporting.as_rows(report, suppress_small=_suppress()))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=adoption-{as_of.isoformat()}.csv"})


def _visits(commune_id: int, as_of: date):
    try:
        return reporting.to_visit(get_session(), current_user, commune_id, as_of=as_of)
    except NotFound:
        abort(404)


@bp.get("/visits/<int:commune_id>.csv")
@role_required(*STAFF)
def visits_csv(commune_id):
    as_of = _as_of()
    body = reporting.visits_csv(_visits(commune_id, as_of))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=visits-{commune_id}-{as_of}.csv"})


# --- pages -------------------------------------------------------------------------------

BAR_WIDTH = 300  # px of a 100 % bar
TREND_W, TREND_H = 480, 160


def _trend_chart(trend: reporting.Trend) -> dict:
    """Coordinates for the trend SVG: month-end points, then the straight path from the
    latest rate to the target on 2030-12-31 drawn in the last fifth of the width."""
    n = len(trend.points)
    span = TREND_W * 4 // 5
    xs = [round(i * span / max(1, n - 1)) for i in range(n)]

    def y(rate):
        return round(TREND_H - rate * TREND_H, 1)
    lines = {}
    for key, start, target, _per_month in trend.paths:
        pts = [f"{x},{y(getattr(p, key))}" for x, p in zip(xs, trend.points)
               if getattr(p, key) is not None]
        path = f"{xs[-1]},{y(start)} {TREND_W},{y(target)}" if start is not None else ""
        lines[key] = {"points": " ".join(pts), "path": path, "target_y": y(target)}
    return {"width": TREND_W, "height": TREND_H, "lines": lines,
            "first": trend.points[0].on, "last": trend.points[-1].on,
            "target_date": trend.target_date, "paths": trend.paths}


@bp.get("/adoption")
@role_required(*STAFF)
def adoption():
    as_of = _as_of()
    session = get_session()
    report = reporting.adoption(session, as_of=as_of)
    data = reporting.as_json(report, suppress_small=_suppress())
    manageable = {r.commune_code: r.commune_id for r in report.by_commune
                  if can_manage_commune(current_user, r.commune_id)}
    chart = _trend_chart(reporting.trend(session, months=24, as_of=as_of))
    return render_template("reports/adoption.html", data=data, as_of=as_of, chart=chart,
                           manageable=manageable, bar_width=BAR_WIDTH)


@bp.get("/visits/<int:commune_id>")
@role_required(*STAFF)
def visits(commune_id):
    as_of = _as_of()
    rows = _visits(commune_id, as_of)
    commune = get_session().get(Commune, commune_id)
    return render_template("reports/visits.html", visits=rows, commune=commune, as_of=as_of)
