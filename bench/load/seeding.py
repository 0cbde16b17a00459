"""A district-like slice for the load test: several demo communities (grids of ~450 households,
as in the field), many grid-worker accounts spread over their grids, volunteers each with a meal
route, and resident accounts. Writes the fixtures the locustfile reads (who may touch what)."""
import json
import random
from datetime import date

from sqlalchemy import select

PASSWORD = "linli-demo"


def seed(communities=3, workers=200, volunteers=20, residents=40, households_per_building=45,
         buildings_per_grid=10, grids=4, print_fn=print):
    from webapp.extensions import db
    from webapp.models import (Building, Grid, Household, MealRecipient, MealRoute, Resident, Residency,
                               RouteStop, User)
    from webapp.services import accounts, demo
    from webapp.services import requests as requests_service
    rng = random.Random(15)
    made = []
    for c in range(communities):
        code = f"4401050{c + 1:02d}{c + 1:03d}"
        community = demo.seed(households_per_building=households_per_building, buildings_per_grid=buildings_per_grid,
                              print_fn=lambda *a: None, code=code, name=f"负载{c + 1}社区", grid_count=grids,
                              prefix=f"c{c + 1}_")
        tops = db.session.scalars(select(Grid).where(Grid.community_id == community.id, Grid.parent_id.is_(None))
                                  .order_by(Grid.id)).all()
        made.append((community, tops))
        print_fn(f"  community {c + 1}/{communities} seeded")
    pw = demo._demo_hash()

    def households_of(grid):
        ids = [grid.id] + [g.id for g in grid.children]
        return db.session.scalars(select(Household.id).join(Building).where(Building.grid_id.in_(ids))
                                  .order_by(Household.id)).all()

    grid_households = {g.id: households_of(g) for _c, tops in made for g in tops}
    all_grids = [(c, g) for c, tops in made for g in tops]
    fixtures = {"password": PASSWORD, "workers": [], "volunteers": [], "residents": []}
    for n in range(workers):
        community, grid = all_grids[n % len(all_grids)]
        name = f"lw{n:04d}"
        accounts.create_user(community, name, f"网格员{n}", "worker", PASSWORD, grids=[grid], password_hash=pw)
        fixtures["workers"].append({"username": name, "households": grid_households[grid.id]})
    used = set(db.session.scalars(select(MealRecipient.resident_id)))
    for n in range(volunteers):
        community, grid = all_grids[n % len(all_grids)]
        name = f"lv{n:04d}"
        volunteer = accounts.create_user(community, name, f"志愿者{n}", "volunteer", PASSWORD, password_hash=pw)
        route = MealRoute(community_id=community.id, name=f"负载{n + 1}号线", volunteers=[volunteer])
        db.session.add(route)
        db.session.flush()
        stops = []
        for hid in rng.sample(grid_households[grid.id], 40):
            resident_id = db.session.scalar(select(Residency.resident_id).where(
                Residency.household_id == hid, Residency.end_date.is_(None)).order_by(Residency.resident_id))
            if resident_id is None or resident_id in used:
                continue
            used.add(resident_id)
            recipient = MealRecipient(community_id=community.id, resident_id=resident_id, household_id=hid,
                                      days=0b1111111, meal_kind="lunch", diets=[])
            db.session.add(recipient)
            db.session.flush()
            db.session.add(RouteStop(route_id=route.id, recipient_id=recipient.id, position=len(stops) + 1))
            stops.append(recipient.id)
            if len(stops) == 12:
                break
        fixtures["volunteers"].append({"username": name, "recipients": stops})
    taken = set(db.session.scalars(select(User.resident_id).where(User.resident_id.is_not(None))))
    for n in range(residents):
        community, grid = all_grids[n % len(all_grids)]
        hid = grid_households[grid.id][(n // len(all_grids)) * 7 + 3]
        resident = db.session.scalar(select(Resident).join(Residency).where(
            Residency.household_id == hid, Residency.end_date.is_(None)).order_by(Resident.id))
        if resident is None or resident.id in taken:
            continue
        taken.add(resident.id)
        name = f"lr{n:04d}"
        accounts.create_user(community, name, resident.name, "resident", PASSWORD, resident=resident, password_hash=pw)
        requests_service.ensure_categories(community)
        fixtures["residents"].append({"username": name, "household": hid, "categories": [
            c.id for c in requests_service.categories(community.id)]})
    db.session.commit()
    total = sum(len(v) for v in grid_households.values())
    fixtures["summary"] = {"communities": communities, "grids": len(all_grids), "households": total,
                           "seeded_on": date.today().isoformat()}
    return fixtures


def write(fixtures, path):
    with open(path, "w") as f:
        json.dump(fixtures, f)
