from flask import render_template, request
from flask_login import current_user

from ...access import REGISTRY, allow
from ...extensions import db
from ...views_support import wants_fragment
from ...services import registry, scope, visits
from ..visits.routes import visit_form_context
from . import bp


@bp.route("/grids")
@allow(*REGISTRY)
def grids():
    summaries = registry.grid_summaries(current_user, scope.top_grids(current_user))
    return render_template("registry/grids.html", summaries=summaries)


@bp.route("/grids/<int:grid_id>")
@allow(*REGISTRY)
def grid(grid_id):
    grid = scope.grid_or_404(current_user, grid_id)
    children = registry.grid_summaries(current_user, [g for g in grid.children])
    buildings = registry.building_summaries([grid.id])
    return render_template("registry/grid.html", grid=grid, children=children, buildings=buildings)


@bp.route("/grids/<int:grid_id>/households")
@allow(*REGISTRY)
def grid_households(grid_id):
    grid = scope.grid_or_404(current_user, grid_id)
    households = registry.household_list(current_user, grid_ids=registry.subtree(current_user, grid))
    return render_template("registry/households.html", title=grid.name, households=households,
                           aged=_aged_category())


@bp.route("/buildings/<int:building_id>")
@allow(*REGISTRY)
def building(building_id):
    building = scope.building_or_404(current_user, building_id)
    households = registry.household_list(current_user, building_id=building.id)
    return render_template("registry/households.html", title=building.name, building=building,
                           households=households, aged=_aged_category())


@bp.route("/households/<int:household_id>")
@allow(*REGISTRY)
def household(household_id):
    household = scope.household_or_404(current_user, household_id)
    registry.audit(current_user, "view", f"household:{household.id}")
    db.session.commit()
    # The same URL answers a fragment to htmx (and to 准备离线, which stores fragments) and a page otherwise.
    template = "registry/_household.html" if wants_fragment() else "registry/household.html"
    return render_template(template, household=household, aged=_aged_category(),
                           visits=visits.for_household(household), labels=visits,
                           **visit_form_context())


@bp.route("/search")
@allow(*REGISTRY)
def search():
    term = request.args.get("q", "")
    results = registry.search(current_user, term)
    template = "registry/_results.html" if wants_fragment() else "registry/search.html"
    return render_template(template, q=term, households=results, aged=_aged_category())


def _aged_category():
    for c in registry.categories(current_user.community_id):
        if c.code == "aged":
            return c
    return None
