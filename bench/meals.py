"""Meal deliveries:
- route sheets for 2,000 recipients on 100 routes, all generated for one day (target under 1 s on
  PostgreSQL), measured after a warm-up, median of 5;
- bytes a volunteer's 准备离线 of a 30-stop route puts on the wire (gzipped), page by page."""
import gzip
import statistics
import time
from datetime import date

from sqlalchemy import select

from bench.common import backends, fresh_app


def build(n_routes=100, per_route=20):
    from webapp.extensions import db
    from webapp.models import Building, Household, MealRecipient, MealRoute, Resident, Residency, RouteStop
    from webapp.services import accounts, registry
    community = registry.create_community("310000999", "基准社区")
    grid = registry.save_grid(community, "第1网格")
    volunteer = accounts.create_user(community, "volunteer1", "刘志愿", "volunteer", "bench-password-1")
    building = Building(grid_id=grid.id, name="1栋", address="基准路1号")
    db.session.add(building)
    db.session.flush()
    diets = (["soft"], [], ["low_salt"], ["halal"], ["low_sugar", "low_salt"])
    for r in range(n_routes):
        route = MealRoute(community_id=community.id, name=f"{r + 1}号线", volunteers=[volunteer] if r == 0 else [])
        db.session.add(route)
        db.session.flush()
        for s in range(per_route):
            n = r * per_route + s
            household = Household(building_id=building.id, unit=str(n // 100), room=str(n), emergency_contacts=[
                {"name": "女儿", "relation": "女儿", "phone": "13800138000"}])
            resident = Resident(community_id=community.id, name=f"老人{n}", sex="F", birth_date=date(1938, 1, 1))
            db.session.add_all([household, resident])
            db.session.flush()
            db.session.add(Residency(resident_id=resident.id, household_id=household.id, start_date=date(2000, 1, 1)))
            recipient = MealRecipient(community_id=community.id, resident_id=resident.id, household_id=household.id,
                                      days=0b1111111 if n % 7 else 0b0011111, diets=diets[n % len(diets)],
                                      notes="耳背，请用力敲门" if n % 9 == 0 else "")
            db.session.add(recipient)
            db.session.flush()
            db.session.add(RouteStop(route_id=route.id, recipient_id=recipient.id, position=s + 1))
    db.session.commit()


def sheet_time():
    from webapp.extensions import db
    from webapp.models import MealRoute
    from webapp.services import meals
    ids = list(db.session.scalars(select(MealRoute.id)))
    day = date(2026, 11, 23)
    meals.sheets(ids, day)  # warm-up
    times = []
    for _ in range(5):
        db.session.expire_all()
        t = time.perf_counter()
        sheets = meals.sheets(ids, day)
        totals = meals.diet_totals([s for stops in sheets.values() for s in stops])
        times.append(time.perf_counter() - t)
    return statistics.median(times), sum(len(v) for v in sheets.values()), totals["total"]


def prepare_bytes(app):
    """What a volunteer's phone downloads for 准备离线: the manifest, then each page it lists."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"login": "volunteer1", "password": "bench-password-1", "csrf_token": token})
    manifest = client.get("/offline/manifest.json")
    sizes = {"/offline/manifest.json": len(gzip.compress(manifest.data, 6))}
    for url in manifest.get_json()["pages"]:
        sizes[url] = len(gzip.compress(client.get(url).data, 6))
    return sizes


def main():
    for backend in backends():
        with fresh_app(backend) as app:
            build()
            seconds, stops, meals_total = sheet_time()
            target = " (target < 1 s)" if backend == "postgresql" else ""
            print(f"  {backend}: route sheets for 2,000 recipients on 100 routes: {seconds * 1000:.0f} ms"
                  f"{target} · {stops} stops today, {meals_total} meals")
            if backend == "sqlite":
                from webapp.extensions import db
                from webapp.models import MealRoute, RouteStop
                from webapp.services import meals
                first = db.session.scalar(select(MealRoute).where(MealRoute.name == "1号线"))
                second = db.session.scalar(select(MealRoute).where(MealRoute.name == "2号线"))
                for stop in db.session.scalars(select(RouteStop).where(RouteStop.route_id == second.id)
                                               .order_by(RouteStop.position).limit(10)):
                    stop.route_id, stop.position = first.id, 100 + stop.position  # a 30-stop route
                db.session.commit()
                assert len(meals.sheets([first.id], date.today())[first.id]) >= 25
                sizes = prepare_bytes(app)
                print(f"  volunteer's 准备离线 for a 30-stop route: {sum(sizes.values()) / 1024:.1f} KB gzipped "
                      f"(/meals {sizes.get('/meals', 0) / 1024:.1f} KB)")


if __name__ == "__main__":
    main()
