"""What citizens ask, for a period (local dates of the office time zone) and a channel (or all):
questions per day by outcome, satisfaction from feedback, the handoff desk's first-reply time,
the most asked and the unanswered questions grouped by meaning, and topics rising week over week.

Everything is read from the recorded state (``service.db.models``): ``answers`` (one row per
citizen message the window replied to, with its type), ``feedback``, ``tickets`` and the staff
``messages`` of a ticket. Grouping encodes the questions with the serving engine's own query
encoder (``service.question_groups``) and is bounded: at most ``max_questions`` (the most recent
of the period) per request, and the result says when the period had more; question vectors are
kept in a cache bounded in bytes.
"""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.answering import Answerer
from service.db.engine import Database
from service.db.models import AnswerRecord, Feedback, Message, Ticket
from service.faq_drafts import faq_link
from service.problems import Invalid
from service.question_groups import Group, group

MAX_DAYS = 366
TOP_GROUPS = 20
RISING_MIN = 2  # questions in the latest week before a topic can be "rising"
# Answer types and what the window did; "clarify" appears when the answerer asks back.
OUTCOMES = {
    "answered": ("faq", "passage"),
    "declined": ("none",),
    "handed_over": ("handoff",),
    "clarify": ("clarify",),
    "smalltalk": ("smalltalk",),
}
OUTCOME_NAMES = {
    "answered": "已回答",
    "declined": "未能回答",
    "handed_over": "转人工",
    "clarify": "追问澄清",
    "smalltalk": "寒暄",
}
QUESTION_TYPES = ("faq", "passage", "none", "clarify")  # what counts as a policy question
UNANSWERED_TYPES = ("none",)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    channel: str | None
    zone: ZoneInfo

    @classmethod
    def of(
        cls, *, start: date | None, end: date | None, channel: str | None, zone: ZoneInfo
    ) -> Period:
        """Raises Invalid (in Chinese) for a reversed or too long period."""
        end = end or datetime.now(zone).date()
        start = start or end - timedelta(days=29)
        if start > end:
            raise Invalid(f"统计期间无效：开始日期 {start} 晚于结束日期 {end}")
        if (end - start).days + 1 > MAX_DAYS:
            raise Invalid(f"统计期间过长：最多 {MAX_DAYS} 天")
        return cls(start, end, channel or None, zone)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def utc(self, day: date) -> datetime:
        """The start of a local day as a naive UTC time (how the state stores times)."""
        local = datetime.combine(day, time(0), tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    def bounds(
        self, first: date | None = None, last: date | None = None
    ) -> tuple[datetime, datetime]:
        return self.utc(first or self.start), self.utc((last or self.end) + timedelta(days=1))


class Analytics:
    def __init__(
        self,
        *,
        database: Database,
        answerer: Callable[[], Answerer],
        zone: str,
        max_questions: int,
        similarity: float,
        cache_bytes: int = 16 * 2**20,
    ) -> None:
        self.database, self._answerer = database, answerer
        self.zone = ZoneInfo(zone)
        self.max_questions, self.similarity = max_questions, similarity
        self.cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._owner: object = None

    def period(self, *, start: date | None, end: date | None, channel: str | None) -> Period:
        return Period.of(start=start, end=end, channel=channel, zone=self.zone)

    def totals(self, period: Period) -> dict[str, int]:
        """The period's question counts by outcome (no grouping: cheap)."""
        with self.database.session() as db:
            daily = self._daily(db, period)
        return {k: sum(d[k] for d in daily) for k in ("questions", *OUTCOMES)}

    def report(
        self, period: Period, *, grouped: bool = True, top: int = TOP_GROUPS
    ) -> dict[str, Any]:
        """The figures; with ``grouped``, also the groups of questions (which need the
        engine's encoder: Unavailable while no index is loaded)."""
        with self.database.session() as db:
            daily = self._daily(db, period)
            totals = {k: sum(d[k] for d in daily) for k in ("questions", *OUTCOMES)}
            body: dict[str, Any] = {
                "period": {
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                    "channel": period.channel,
                    "timezone": period.zone.key,
                },
                "channels": self._channels(db),
                "totals": totals,
                "daily": daily,
                "satisfaction": self._satisfaction(db, period),
                "handoff": self._handoff(db, period),
            }
            if not grouped:
                return body
            asked = self._questions(db, period, QUESTION_TYPES, period.bounds())
            unanswered = self._questions(db, period, UNANSWERED_TYPES, period.bounds())
            week = period.end - timedelta(days=6)
            recent = self._questions(
                db, period, QUESTION_TYPES, period.bounds(week - timedelta(days=7), period.end)
            )
        encode = self._encoder()
        body["top"] = self._grouped(asked, encode, top)
        body["unanswered"] = self._grouped(unanswered, encode, top)
        body["rising"] = self._rising(recent, encode, period.utc(week), week, period.end, top)
        return body

    # ---- counts ------------------------------------------------------------------------------

    def _filtered(self, query: Any, period: Period, column: Any) -> Any:
        return query.where(column == period.channel) if period.channel else query

    def _daily(self, db: Session, period: Period) -> list[dict[str, Any]]:
        kinds = {t: name for name, types in OUTCOMES.items() for t in types}
        rows = []
        for day in period.days():
            since, until = period.bounds(day, day)
            query = (
                select(AnswerRecord.type, func.count())
                .where(AnswerRecord.created_at >= since, AnswerRecord.created_at < until)
                .group_by(AnswerRecord.type)
            )
            row: dict[str, Any] = {"date": day.isoformat(), "questions": 0}
            row.update(dict.fromkeys(OUTCOMES, 0))
            for kind, n in db.execute(self._filtered(query, period, AnswerRecord.channel)):
                row["questions"] += n
                if kind in kinds:
                    row[kinds[kind]] += n
            rows.append(row)
        return rows

    def _channels(self, db: Session) -> list[str]:
        return sorted(db.scalars(select(AnswerRecord.channel).distinct()))

    def _satisfaction(self, db: Session, period: Period) -> dict[str, Any]:
        since, until = period.bounds()
        query = (
            select(Feedback.helpful, func.count())
            .join(AnswerRecord, AnswerRecord.id == Feedback.answer_id)
            .where(AnswerRecord.created_at >= since, AnswerRecord.created_at < until)
            .group_by(Feedback.helpful)
        )
        counts = dict(db.execute(self._filtered(query, period, AnswerRecord.channel)).all())
        helpful, unhelpful = int(counts.get(True, 0)), int(counts.get(False, 0))
        ratings = helpful + unhelpful
        return {
            "ratings": ratings,
            "helpful": helpful,
            "not_helpful": unhelpful,
            "rate": round(helpful / ratings, 4) if ratings else None,
        }

    def _handoff(self, db: Session, period: Period) -> dict[str, Any]:
        since, until = period.bounds()
        first_reply = (
            select(Message.ticket_id, func.min(Message.created_at).label("at"))
            .where(Message.role == "staff", Message.ticket_id.is_not(None))
            .group_by(Message.ticket_id)
            .subquery()
        )
        query = (
            select(Ticket.created_at, Ticket.status, first_reply.c.at)
            .outerjoin(first_reply, first_reply.c.ticket_id == Ticket.id)
            .where(Ticket.created_at >= since, Ticket.created_at < until)
        )
        rows = db.execute(self._filtered(query, period, Ticket.channel)).all()
        waits = [(at - created).total_seconds() for created, _, at in rows if at is not None]
        return {
            "tickets": len(rows),
            "replied": len(waits),
            "closed": sum(1 for _, status, _ in rows if status == "closed"),
            "median_first_reply_seconds": round(statistics.median(waits)) if waits else None,
        }

    # ---- groups ------------------------------------------------------------------------------

    def _questions(
        self,
        db: Session,
        period: Period,
        types: Sequence[str],
        bounds: tuple[datetime, datetime],
    ) -> dict[str, Any]:
        """The most recent ``max_questions`` questions of ``types`` in ``bounds`` (oldest
        first), and how many there were in all."""
        where = [
            AnswerRecord.created_at >= bounds[0],
            AnswerRecord.created_at < bounds[1],
            AnswerRecord.type.in_(types),
            AnswerRecord.question != "",
        ]
        count = select(func.count()).select_from(AnswerRecord).where(*where)
        total = int(db.scalar(self._filtered(count, period, AnswerRecord.channel)) or 0)
        query = (
            select(AnswerRecord.question, AnswerRecord.created_at)
            .where(*where)
            .order_by(AnswerRecord.created_at.desc(), AnswerRecord.id)
            .limit(self.max_questions)
        )
        rows = db.execute(self._filtered(query, period, AnswerRecord.channel)).all()[::-1]
        return {"total": total, "rows": [(q, at) for q, at in rows]}

    def _encoder(self) -> Callable[[Sequence[str]], np.ndarray]:
        """The serving engine's query encoder, through a cache of question vectors bounded in
        bytes (shared by the requests of this process, emptied when the engine's encoder is
        replaced), so that the dashboard, its CSV exports and the report encode a question
        once."""
        answerer = self._answerer()  # raises Unavailable while no index is loaded

        def encode(texts: Sequence[str]) -> np.ndarray:
            with self._lock:
                if self._owner is not answerer.encoder:
                    self._cache.clear()
                    self._cache_bytes, self._owner = 0, answerer.encoder
                known = {t: self._cache[t] for t in texts if t in self._cache}
            missing = [t for t in dict.fromkeys(texts) if t not in known]
            if missing:
                known.update(zip(missing, answerer.encode.many(missing), strict=True))
                with self._lock:
                    for text in missing:
                        self._remember(text, known[text])
            return np.stack([known[t] for t in texts])

        return encode

    def _remember(self, text: str, vector: np.ndarray) -> None:
        """Caller holds the lock."""
        if text in self._cache:
            return
        self._cache[text] = vector
        self._cache_bytes += vector.nbytes + len(text.encode()) + 100
        while self._cache_bytes > self.cache_bytes and self._cache:
            old, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= dropped.nbytes + len(old.encode()) + 100

    def _limits(self, found: dict[str, Any]) -> dict[str, Any]:
        clustered, total = len(found["rows"]), found["total"]
        capped = total > clustered
        note = (
            f"本期共 {total} 条问题，按设置只对最近的 {clustered} 条按语义归类"
            if capped
            else f"本期 {total} 条问题全部参与归类"
        )
        return {"total": total, "clustered": clustered, "capped": capped, "note": note}

    def _grouped(
        self, found: dict[str, Any], encode: Callable[[Sequence[str]], np.ndarray], top: int
    ) -> dict[str, Any]:
        groups = group([q for q, _ in found["rows"]], encode, similarity=self.similarity)
        clustered = max(len(found["rows"]), 1)
        return {
            **self._limits(found),
            "groups": [
                {
                    "typical": g.typical,
                    "count": g.count,
                    "share": round(g.count / clustered, 4),
                    "examples": g.examples,
                    "faq_link": faq_link(g.typical),
                }
                for g in groups[:top]
            ],
        }

    def _rising(
        self,
        found: dict[str, Any],
        encode: Callable[[Sequence[str]], np.ndarray],
        cut: datetime,
        week: date,
        end: date,
        top: int,
    ) -> dict[str, Any]:
        rows = found["rows"]
        groups: list[Group] = group([q for q, _ in rows], encode, similarity=self.similarity)
        topics: list[dict[str, Any]] = []
        for g in groups:
            latest = sum(1 for i in g.members if rows[i][1] >= cut)
            before = g.count - latest
            if latest >= RISING_MIN and latest > before:
                topics.append(
                    {
                        "typical": g.typical,
                        "this_week": latest,
                        "last_week": before,
                        "change": latest - before,
                        "new": before == 0,
                        "faq_link": faq_link(g.typical),
                    }
                )
        topics.sort(key=lambda t: (-int(t["change"]), -int(t["this_week"]), str(t["typical"])))
        return {
            **self._limits(found),
            "this_week": {"start": week.isoformat(), "end": end.isoformat()},
            "last_week": {
                "start": (week - timedelta(days=7)).isoformat(),
                "end": (week - timedelta(days=1)).isoformat(),
            },
            "topics": topics[:top],
        }
