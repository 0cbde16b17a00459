"""The community dashboard, the leader's team view, the monthly evaluation, the monthly
report (print and XLSX), and the zero report (零上报).

Admins see their community, leaders their grids (services/scope.py); workers, volunteers and
residents get 404: a worker's own work is their daily round, and colleagues' figures are the
leader's to discuss. A zero report is made by those assigned to grids (leaders, workers)."""
import uuid

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ... import access, localtime
from ...access import allow
from ...services import audit, dashboard, records, team, zero_reports
from ...web.downloads import download
from ...web.lookups import grid_or_404
from . import bp

viewers = allow(access.VIEW_DASHBOARD)


def _ctx(grid_id=None):
    month = dashboard.parse_month(request.args.get("month"), current_user.community)
    grid = grid_or_404(current_user, grid_id) if grid_id is not None else None
    return dashboard.ctx_for(current_user, month, grid), grid


def _printed_at():
    return localtime.now(current_user.community).strftime("%Y-%m-%d %H:%M")


@bp.route("/dashboard")
@viewers
def index():
    ctx, _grid = _ctx()
    return render_template("dashboard/index.html", ctx=ctx, panels=dashboard.compute(ctx), d=dashboard)


@bp.route("/dashboard/panels/<panel_name>.csv")
@viewers
def panel_csv(panel_name):
    ctx, _grid = _ctx()
    panel = dashboard.one(ctx, panel_name)
    if panel is None:
        abort(404)
    audit.record(current_user, "export", "dashboard", None, f"{panel_name} {ctx.month:%Y-%m}")
    return download([panel.columns] + panel.rows, "csv", f"{panel_name}-{ctx.month:%Y-%m}")


@bp.route("/dashboard/team")
@viewers
def team_view():
    ctx, _grid = _ctx()
    return render_template("dashboard/team.html", ctx=ctx, rows=team.team_today(ctx), localtime=localtime)


@bp.route("/dashboard/evaluation")
@viewers
def evaluation():
    ctx, _grid = _ctx()
    return render_template("dashboard/evaluation.html", ctx=ctx, rows=team.evaluate(ctx), f=team.formulas())


def _report(grid):
    ctx = dashboard.ctx_for(current_user, dashboard.parse_month(request.args.get("month"), current_user.community),
                            grid)
    return ctx, [p for p, _prev in dashboard.compute(ctx, compare=False)], team.evaluate(ctx)


def _report_rows(ctx, panels, evaluation, grid):
    title = grid.name if grid is not None else ctx.community.name
    yield [f"{title} {ctx.month:%Y-%m} " + _("月度报告")]
    for p in panels:
        yield []
        yield [str(p.title)]
        yield [str(c) for c in p.columns]
        yield from p.rows
    yield []
    yield [_("网格员月度考核")]
    yield [_("网格员"), _("负责户数"), _("应访次数"), _("完成次数"), _("完成率%"), _("每百户完成"), _("按时率%"),
           _("求助响应中位数（分钟）"), _("诉求处置件数"), _("诉求按时件数"), _("诉求按时率%"), _("诉求满意度（1-5）")]
    for e in evaluation:
        yield [e.user.name, e.caseload, e.due_visits, e.done, e.completion, e.per100, e.on_time_rate, e.ack_median,
               e.req_handled, e.req_on_time, e.req_on_time_rate, e.req_rating]


@bp.route("/dashboard/report", defaults={"grid_id": None})
@bp.route("/dashboard/grids/<grid_id>/report")
@viewers
def report(grid_id):
    grid = grid_or_404(current_user, grid_id) if grid_id is not None else None
    ctx, panels, evaluation = _report(grid)
    return render_template("print/dashboard_report.html", ctx=ctx, grid=grid, panels=panels, evaluation=evaluation,
                           f=team.formulas(), d=dashboard, printed_at=_printed_at())


@bp.route("/dashboard/report.<fmt>", defaults={"grid_id": None})
@bp.route("/dashboard/grids/<grid_id>/report.<fmt>")
@viewers
def report_download(fmt, grid_id):
    """The monthly report as XLSX (or CSV): every panel's table, then the evaluation."""
    grid = grid_or_404(current_user, grid_id) if grid_id is not None else None
    if fmt not in ("xlsx", "csv"):
        abort(404)
    ctx, panels, evaluation = _report(grid)
    audit.record(current_user, "export", "dashboard", None,
                 f"report {fmt} {ctx.month:%Y-%m} grid={grid.code if grid else 'all'}")
    name = f"report-{grid.code if grid else ctx.community.code}-{ctx.month:%Y-%m}"
    return download(_report_rows(ctx, panels, evaluation, grid), fmt, name)


@bp.route("/zero", methods=["GET", "POST"])
@allow(access.ZERO_REPORT)
def zero():
    """The zero report: offline through the outbox (the form is marked for it); a plain post
    goes through the same ingest."""
    if request.method == "POST":
        answer = records.ingest_one(current_user, "zero_report", request.form.get("uuid") or str(uuid.uuid4()),
                                    {"grid_id": request.form.get("grid_id"), "day": request.form.get("day"),
                                     "note": request.form.get("note", "")})
        if answer["status"] == "stored":
            flash(_("已零上报：今天本网格无异常情况。"))
            return redirect("/zero")
        flash(answer["reason"], "error")
    today, grids = zero_reports.todays(current_user)
    return render_template("dashboard/zero.html", today=today, grids=grids, new_uuid=str(uuid.uuid4()))
