"""A generated month of conversations for the analytics tests: hundreds of questions in known
families of wordings, on two channels, with feedback and handed-over tickets whose first reply
times are known. Written through the state's models (``service.db.models``) for volume; every
record is also kept in ``Month`` so the tests can compute what the dashboard must show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.db.engine import get_database
from service.db.models import AnswerRecord, Conversation, Feedback, Message, Ticket

ZONE = ZoneInfo("Asia/Shanghai")  # the default office time zone

# family -> (answer types cycled, wordings, how many, day offset before today for the i-th)
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, object]] = {
    "tax": (
        ("faq", "passage"),
        (
            "个人所得税的起征点是多少？",
            "个税起征点是多少",
            "个税免征额是多少钱",
            "个人所得税起征点现在是多少",
        ),
        58,
        lambda i: i % 29 + 1,
    ),
    "procurement": (
        ("passage",),
        (
            "政府采购可以采用哪些方式？",
            "政府采购有哪些采购方式",
            "政府采购的方式有哪些",
            "政府采购方式包括哪些",
        ),
        40,
        lambda i: i % 20 + 10,
    ),
    "fund": (
        ("faq",),
        ("公积金怎么提取？", "住房公积金如何提取", "怎样提取住房公积金"),
        30,
        lambda i: i % 29 + 1,
    ),
    "subsidy": (  # new this week: rising
        ("faq", "passage"),
        ("创业补贴怎么申请", "如何申请创业补贴", "申请创业补贴需要什么条件"),
        24,
        lambda i: i % 6 + 1,
    ),
    "invoice": (  # 12 this week, 6 the week before: rising
        ("passage",),
        ("财政电子票据怎么查验", "如何查验财政电子票据真伪", "财政票据真伪怎么查"),
        18,
        lambda i: i % 6 + 1 if i < 12 else i % 7 + 7,
    ),
    "parking": (
        ("none",),
        ("停车费怎么交", "路边停车怎么缴费", "停车缴费在哪里交"),
        21,
        lambda i: i % 21 + 1,
    ),
    "dog": (
        ("none",),
        ("养狗要办狗证吗", "狗证在哪里办理", "怎么给宠物狗办证"),
        12,
        lambda i: i % 12 + 14,
    ),
    "smalltalk": (("smalltalk",), ("你好", "谢谢", "您好"), 15, lambda i: i % 15 + 1),
}
TICKET_WAITS = [60 * k for k in range(1, 11)]  # seconds from hand-over to the first reply


@dataclass(frozen=True)
class Asked:
    day: date  # local date
    at: datetime  # naive UTC
    channel: str
    type: str
    family: str | None
    question: str


@dataclass
class Month:
    today: date
    asked: list[Asked] = field(default_factory=list)
    ratings: list[tuple[str, bool]] = field(default_factory=list)  # channel, helpful
    waits: list[tuple[str, float | None]] = field(default_factory=list)  # channel, seconds

    @property
    def start(self) -> date:
        return self.today - timedelta(days=29)

    def family_of(self, question: str) -> str | None:
        for name, (_, wordings, _, _) in FAMILIES.items():
            if question in wordings:
                return name
        return None


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    local = datetime.combine(day, time(hour, minute), tzinfo=ZONE)
    return local.astimezone(UTC).replace(tzinfo=None)


def generate(url: str) -> Month:
    month = Month(today=datetime.now(ZONE).date())
    conversations: list[Conversation] = []
    records: list[AnswerRecord] = []
    ratings: list[Feedback] = []
    with get_database(url).session() as db:
        n = 0
        for family, (types, wordings, count, offset) in FAMILIES.items():
            for i in range(count):
                n += 1
                day = month.today - timedelta(days=offset(i))  # type: ignore[operator]
                at = utc(day, 10 + i % 7, i % 60)
                channel = "wechat" if n % 3 == 0 else "web"
                kind = types[i % len(types)]
                question = wordings[i % len(wordings)]
                conversation = Conversation(
                    id=f"gen-{n:04d}", channel=channel, created_at=at, last_seen_at=at
                )
                record = AnswerRecord(
                    id=f"answer-{n:04d}",
                    conversation_id=conversation.id,
                    channel=channel,
                    question=question,
                    type=kind,
                    confidence=0.9 if kind in ("faq", "passage") else 0.1,
                    sources=[],
                    latency_ms=12.0,
                    created_at=at,
                )
                conversations.append(conversation)
                records.append(record)
                asked = Asked(
                    day, at, channel, kind, None if kind == "smalltalk" else family, question
                )
                month.asked.append(asked)
                if kind in ("faq", "passage") and i % 4 == 0:
                    helpful = i % 8 != 4
                    ratings.append(Feedback(answer_id=record.id, helpful=helpful, created_at=at))
                    month.ratings.append((channel, helpful))
        for rows in (conversations, records, ratings):  # no ORM relationships: parents first
            db.add_all(rows)
            db.flush()
        for k, wait in enumerate(TICKET_WAITS):
            n += 1
            day = month.today - timedelta(days=k + 2)
            at = utc(day, 11)
            channel = "wechat" if k % 2 else "web"
            conversation = Conversation(
                id=f"gen-{n:04d}", channel=channel, created_at=at, last_seen_at=at
            )
            ticket = Ticket(
                id=f"ticket-{k:02d}",
                conversation_id=conversation.id,
                channel=channel,
                status="closed" if k < 6 else "claimed",
                reason="human",
                created_at=at,
                claimed_at=at + timedelta(seconds=wait / 2),
                closed_at=at + timedelta(hours=1) if k < 6 else None,
            )
            db.add(conversation)
            db.flush()
            db.add(ticket)
            db.flush()
            db.add(
                AnswerRecord(
                    id=f"answer-{n:04d}",
                    conversation_id=conversation.id,
                    channel=channel,
                    question="我要转人工",
                    type="handoff",
                    confidence=1.0,
                    sources=[],
                    latency_ms=3.0,
                    created_at=at,
                )
            )
            month.asked.append(Asked(day, at, channel, "handoff", None, "我要转人工"))
            db.flush()
            for later in (wait, wait + 600):  # the first reply counts, not the second
                db.add(
                    Message(
                        conversation_id=conversation.id,
                        ticket_id=ticket.id,
                        role="staff",
                        text="您好，我是财政局工作人员。",
                        created_at=at + timedelta(seconds=later),
                    )
                )
            month.waits.append((channel, float(wait)))
    return month
