"""Time to deliver one alert to 1,000 subscriptions on the local push service
(each request's VAPID JWT verified and body decrypted there). Target: under 5 s."""
import logging
import time

from sqlalchemy import insert, select

from bench.common import fresh_app

SUBSCRIPTIONS = 1000


def main():
    logging.disable(logging.WARNING)
    from tests.pushservice import PushService
    from webapp.extensions import db
    from webapp.models import PushSubscription, User
    from webapp.services import alerts, demo, push
    with fresh_app("sqlite") as app:
        demo.seed(households_per_building=2, buildings_per_grid=2, print_fn=lambda *a: None)
        service = PushService(push.public_key(app))
        worker = db.session.scalar(select(User).where(User.username == "worker1"))
        subscribers = [service.new_subscriber() for _ in range(SUBSCRIPTIONS)]
        db.session.execute(insert(PushSubscription), [
            {"user_id": worker.id, "endpoint": s.endpoint, "p256dh": s.p256dh,
             "auth": s.subscription()["keys"]["auth"]} for s in subscribers])
        db.session.commit()
        target = db.session.scalars(alerts.scope.households(worker)).first()
        started = time.perf_counter()
        alerts.raise_alert("sos", target)  # inbox notices, then the push fan-out (inline here)
        delivered = service.wait_for(SUBSCRIPTIONS, timeout=60)
        elapsed = time.perf_counter() - started
        service.stop()
        assert delivered and not service.errors, service.errors[:3]
        print(f"one alert to {SUBSCRIPTIONS} subscriptions, VAPID-verified and decrypted by the local push "
              f"service: {elapsed:.2f} s ({SUBSCRIPTIONS / elapsed:,.0f}/s)  target < 5 s")


if __name__ == "__main__":
    main()
