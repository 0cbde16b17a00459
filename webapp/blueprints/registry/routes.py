import hashlib
import json

from flask import g, render_template, request
from flask_login import current_user

from ...access import VIEW_REGISTRY, allow, may
from ...web.fragments import wants_fragment
from ...extensions import db
from ...services import audit, checkins, registry, scope, visits
from ..visits.routes import visit_form_context
from ...web import lookups
from ..offline.pages import contribute
from ..offline.routes import version
from . import bp


@bp.route("/grids")
@allow(VIEW_REGISTRY)
def grids():
    summaries = registry.grid_summaries(current_user, scope.top_grids(current_user))
    return render_template("registry/grids.html", summaries=summaries)


@bp.route("/grids/<int:grid_id>")
@allow(VIEW_REGISTRY)
def grid(grid_id):
    grid = lookups.grid_or_404(current_user, grid_id)
    children = registry.grid_summaries(current_user, [g for g in grid.children])
    buildings = registry.building_summaries([grid.id])
    return render_template("registry/grid.html", grid=grid, children=children, buildings=buildings)


@bp.route("/grids/<int:grid_id>/households")
@allow(VIEW_REGISTRY)
def grid_households(grid_id):
    grid = lookups.grid_or_404(current_user, grid_id)
    households = registry.household_list(current_user, grid_ids=registry.subtree(current_user, grid))
    return render_template("registry/households.html", title=grid.name, households=households,
                           aged=_aged_category())


@bp.route("/buildings/<int:building_id>")
@allow(VIEW_REGISTRY)
def building(building_id):
    building = lookups.building_or_404(current_user, building_id)
    households = registry.household_list(current_user, building_id=building.id)
    return render_template("registry/households.html", title=building.name, building=building,
                           households=households, aged=_aged_category())


@bp.route("/households/<int:household_id>")
@allow(VIEW_REGISTRY)
def household(household_id):
    household = lookups.household_or_404(current_user, household_id, *registry.household_page_options())
    audit.record(current_user, "view", "household", household.id)
    # The same URL answers a fragment to htmx (and to 准备离线, which stores fragments) and a page otherwise.
    template = "registry/_household.html" if wants_fragment() else "registry/household.html"
    return render_template(template, household=household, aged=_aged_category(),
                           visits=visits.for_household(household), labels=visits,
                           checkin=checkins.status(household), checkin_modes=checkins.MODE_LABELS,
                           pause_reasons=checkins.PAUSE_LABELS,
                           last_ok=checkins.last_confirmed_ok([household.id]).get(household.id),
                           **visit_form_context())


@bp.route("/households/<int:household_id>/print")
@allow(VIEW_REGISTRY)
def household_print(household_id):
    """A household sheet laid out for A4."""
    household = lookups.household_or_404(current_user, household_id, *registry.household_page_options())
    audit.record(current_user, "print", "household", household.id)
    return render_template("print/household.html", household=household, aged=_aged_category(), printed_at=_printed_at(),
                           visits=visits.for_household(household), labels=visits)


@bp.route("/grids/<int:grid_id>/print")
@allow(VIEW_REGISTRY)
def grid_print(grid_id):
    """The grid's households (micro-grids included) with their care categories, for A4."""
    grid = lookups.grid_or_404(current_user, grid_id)
    households = registry.household_list(current_user, grid_ids=registry.subtree(current_user, grid))
    households.sort(key=lambda h: (registry.natural_key(h.building.name), registry.natural_key(h.unit),
                                   registry.natural_key(h.room)))
    audit.record(current_user, "print", "grid", grid.id)
    return render_template("print/grid.html", grid=grid, households=households, aged=_aged_category(),
                           printed_at=_printed_at())


@bp.route("/search")
@allow(VIEW_REGISTRY)
def search():
    term = request.args.get("q", "")
    results = registry.search(current_user, term)
    if term.strip():
        audit.record(current_user, "search", "search", None, f"{term.strip()[:100]} ({len(results)})")
    template = "registry/_results.html" if wants_fragment() else "registry/search.html"
    return render_template(template, q=term, households=results, aged=_aged_category())


def household_fragment(household):
    """The household's page as 准备离线 stores it: nothing per request in it (no CSRF token, no
    form UUID, no time; the phone's script fills the UUID when a form opens), so equal HTML
    means an unchanged household. No audit entry per household: 准备离线 writes one."""
    context = visit_form_context()
    context["new_uuid"] = ""
    context["v"]["occurred_at"] = ""  # data-now: the phone writes the time when the form opens
    return render_template("registry/_household.html", household=household, aged=_aged_category(),
                           visits=visits.for_household(household), labels=visits,
                           csrf_token=lambda: "", now_iso="", **context)


def household_versions(user, ids=None):
    """{household id: version} for the user's households (or those of `ids`), from the data the
    household's page shows, in five queries for all of them: no page is rendered. A change to
    templates or translations changes the offline version, which every household version holds."""
    from flask_babel import get_locale
    from sqlalchemy import func, select
    from sqlalchemy.orm import contains_eager
    from ...models import Building, CareCategory, Household, Resident, Residency, Visit
    from ...services.registry import care_labels
    ids_q = scope.households(user).with_only_columns(Household.id)
    if ids is not None:
        ids_q = ids_q.where(Household.id.in_(ids))
    in_scope = ids_q.scalar_subquery()
    rows = {}
    for h in db.session.execute(
            select(Household.id, Household.unit, Household.room, Household.phone, Household.emergency_contacts,
                   Household.note, Building.name, Building.address)
            .join(Building, Household.building_id == Building.id).where(Household.id.in_(in_scope))):
        rows[h[0]] = [tuple(h[1:5]), json.dumps(h[4], sort_keys=True, ensure_ascii=False), tuple(h[5:])]
    aged = _aged_category()
    category_defs = db.session.execute(
        select(CareCategory.id, CareCategory.code, CareCategory.name, CareCategory.derived)
        .where(CareCategory.community_id == user.community_id).order_by(CareCategory.id)).all()
    for r in db.session.scalars(
            select(Residency).join(Resident).options(contains_eager(Residency.resident))
            .where(Residency.household_id.in_(in_scope)).order_by(Residency.id)):
        p = r.resident
        rows[r.household_id].append((r.id, r.relation, str(r.end_date), p.id, p.name, p.sex, p.age(), p.phone,
                                     p.id_number, tuple(care_labels(p, aged))))
    for hid, n, last in db.session.execute(
            select(Visit.household_id, func.count(Visit.id), func.max(Visit.id))
            .where(Visit.household_id.in_(in_scope)).group_by(Visit.household_id)):
        rows[hid].append(("visits", n, last))
    common = repr((version(), user.role, scope.sees_full_id(user), str(get_locale()), category_defs))
    return {hid: hashlib.sha256((common + repr(data)).encode()).hexdigest()[:12] for hid, data in rows.items()}


@contribute
def _offline_pages(user):
    if may(user, VIEW_REGISTRY):
        yield "/grids"
        yield "/search"


def _aged_category():
    """The community's 高龄 category (once per request: 准备离线 renders many households)."""
    if "linli_aged" not in g:
        g.linli_aged = next((c for c in registry.categories(current_user.community_id) if c.code == "aged"), None)
    return g.linli_aged


def _printed_at():
    return visits.local_now_input().replace("T", " ")
