"""The timed ladder: a subject (an alert; later a resident's request past its time
limit, a missed check-in) climbs one rung at a time until someone acts on it.
Each rung tells some people, and the next rung falls due a set time after the start.

A ladder is declared once per subject model (see `Ladder`): the model, its level
and deadline columns, the condition under which it still climbs, and its rungs.
`step` and `run_due` are the generic part every ladder shares.

This is a deliberate durable boundary: `step` commits by itself, once per rung.
The pending deadline lives in the subject's row, so a restart of any process
loses nothing: the next `run_due` re-reads it. A rung is claimed by a
compare-and-set on the level column, in the same transaction as its event and
inbox notices, so each rung happens exactly once, whichever process gets there
first. Pushes go out only after the commit.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import utcnow
from ..extensions import db
from . import push

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rung:
    """One rung: who it tells and when it falls due, counted from the ladder's start."""
    label: object                                  # who is told, for the timeline ("网格长")
    recipients: Callable[[object], list]           # subject → user ids
    after: Callable[[object], timedelta] = lambda subject: timedelta(0)


class Ladder:
    """What a subject model declares to climb a ladder. Subclass and fill in:

    - model, subject_type (the notices' subject), rungs;
    - level_column / deadline_column (level -1 means "stored, nobody told yet");
    - climbing(): the SQL condition under which the subject still climbs (e.g. state == open);
    - started_at(subject): what the rungs' `after` counts from;
    - record(subject, level, rung, recipients): the event on the subject's timeline;
    - message(subject, level, now): (title, body, url) for inbox and push;
    - excluded(subject): user ids never told (the person who raised it);
    - record_handover(subject, level, rung): a rung with nobody on it, passed on at once;
    - record_nobody(subject, level, rung): the last rung had nobody either.

    A rung with nobody on it (once the excluded are taken out) hands over to the next
    rung in the same step, so someone other than the raiser is always told, if anyone can be.
    """
    model = None
    subject_type = None
    level_column = "level"
    deadline_column = "next_escalation_at"
    rungs = ()

    def climbing(self):
        raise NotImplementedError

    def started_at(self, subject):
        raise NotImplementedError

    def record(self, subject, level, rung, recipients):
        pass

    def message(self, subject, level, now):
        raise NotImplementedError

    def rungs_for(self, subject):
        return self.rungs

    def excluded(self, subject):
        return set()

    def record_handover(self, subject, level, rung):
        pass

    def record_nobody(self, subject, level, rung):
        pass

    def load_options(self):
        """Loader options for step_many's one query over its subjects (e.g. what audience() reads)."""
        return ()

    def audience(self, subject, level):
        """A key shared by subjects whose rung `level` tells the same people (step_many looks them
        up once per key), or None to look up every subject's own."""
        return None

    # -- columns by name, so a model may call them what it likes --
    def level(self):
        return getattr(self.model, self.level_column)

    def deadline(self):
        return getattr(self.model, self.deadline_column)

    def start(self, now=None):
        """Column values that put a new subject on the ladder: due at once, nobody told yet."""
        return {self.level_column: -1, self.deadline_column: now or utcnow()}

    def stop(self, subject):
        """Take the subject off the ladder (it was acted on). In the caller's unit of work."""
        setattr(subject, self.deadline_column, None)


def _climb(ladder, subject_id, now, recipients):
    """One step's work, in the caller's transaction, without committing. Returns (climbed, push):
    push is (users, title, body, url, subject) to send once committed, or None."""
    subject = db.session.get(ladder.model, subject_id)
    deadline = getattr(subject, ladder.deadline_column, None) if subject is not None else None
    if deadline is None or deadline > now:
        return False, None
    rungs = ladder.rungs_for(subject)
    old = getattr(subject, ladder.level_column)
    new = old + 1
    if new >= len(rungs):
        return False, None
    # the first rung from `new` up with somebody on it (the last rung, if none has)
    excluded = ladder.excluded(subject)
    handed_over, level = [], new
    while True:
        users = [u for u in recipients(subject, level, rungs[level]) if u not in excluded]
        if users or level + 1 >= len(rungs):
            break
        handed_over.append(level)
        level += 1
    start = ladder.started_at(subject)
    following = start + rungs[level + 1].after(subject) if level + 1 < len(rungs) else None
    claimed = db.session.execute(
        update(ladder.model)
        .where(ladder.model.id == subject_id, ladder.level() == old, ladder.climbing())
        .values({ladder.level_column: level, ladder.deadline_column: following})
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # another process climbed it, or someone acted meanwhile
        return False, None
    set_committed_value(subject, ladder.level_column, level)  # what was written; not dirty
    set_committed_value(subject, ladder.deadline_column, following)
    for skipped in handed_over:
        ladder.record_handover(subject, skipped, rungs[skipped])
    if not users:
        log.error("ladder %s: %s %s reached its last rung with nobody to tell",
                  ladder.subject_type, ladder.subject_type, subject_id)
        ladder.record_nobody(subject, level, rungs[level])
        return True, None
    ladder.record(subject, level, rungs[level], users)
    title, body, url = ladder.message(subject, level, now)
    subject_ref = (ladder.subject_type, subject_id)
    push.add_notices(users, title, body, url, subject=subject_ref)
    return True, (users, title, body, url, subject_ref)


def _send(pushes):
    for users, title, body, url, subject_ref in pushes:
        push.send_later(users, title, body, url, subject=subject_ref)


def step(ladder, subject_id, now=None):
    """Climb one rung if it is due. Returns True when this call climbed it.

    Commits by itself (a deliberate durable boundary, see the module docstring)."""
    climbed, to_send = _climb(ladder, subject_id, now or utcnow(),
                              lambda subject, level, rung: rung.recipients(subject))
    if not climbed:
        db.session.rollback()
        return False
    db.session.commit()
    _send([to_send] if to_send else [])
    return True


def step_many(ladder, subject_ids, now=None):
    """`step` for many subjects at once, for sweeps that find a hundred at a time: the same
    compare-and-set per subject, handovers and notices, in one transaction and one commit, then
    the pushes. Who is on a rung is looked up once per ladder.audience(subject, level) (subjects
    with the same audience share their recipients). Returns how many climbed.

    A durable boundary like `step`: a subject another process climbed meanwhile is left to it; a
    crash before the commit tells nobody and leaves every subject due for the next run_due."""
    now = now or utcnow()
    known = {}

    def recipients(subject, level, rung):
        key = ladder.audience(subject, level)
        if key is None:
            return rung.recipients(subject)
        if key not in known:
            known[key] = list(rung.recipients(subject))
        return known[key]

    ids = list(subject_ids)
    if ids:  # one statement loads them all (and what audience() needs), not one each
        db.session.scalars(select(ladder.model).where(ladder.model.id.in_(ids))
                           .options(*ladder.load_options())).all()
    pushes, climbed = [], 0
    for subject_id in ids:
        ok, to_send = _climb(ladder, subject_id, now, recipients)
        climbed += ok
        if to_send:
            pushes.append(to_send)
    db.session.commit()
    _send(pushes)
    return climbed


def due(ladder, now=None):
    """Ids of the subjects whose next rung has come, oldest deadline first."""
    now = now or utcnow()
    deadline = ladder.deadline()
    return db.session.scalars(select(ladder.model.id).where(
        ladder.climbing(), deadline.is_not(None), deadline <= now).order_by(deadline)).all()


def run_due(ladder, now=None, stepper: Optional[Callable] = None):
    """Climb every subject whose time has come. Idempotent; safe in several processes at once.
    Commits per rung (through `step`)."""
    now = now or utcnow()
    ids = due(ladder, now)
    db.session.rollback()
    stepper = stepper or (lambda subject_id, when: step(ladder, subject_id, when))
    return sum(1 for subject_id in ids if stepper(subject_id, now))
