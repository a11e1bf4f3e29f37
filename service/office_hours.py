"""When staff answer handed-over conversations, and the Chinese sentence that tells a citizen
when to expect a person (office hours, weekdays, holidays and 调休 workdays are settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class OfficeHours:
    zone: ZoneInfo
    periods: tuple[tuple[time, time], ...]
    days: frozenset[int]  # ISO weekdays
    holidays: frozenset[date]
    extra_workdays: frozenset[date]
    reply_within_minutes: int

    @classmethod
    def parse(
        cls,
        *,
        timezone: str,
        hours: str,
        days: str,
        holidays: str,
        extra_workdays: str,
        reply_within_minutes: int,
    ) -> OfficeHours:
        """Raises ValueError with a Chinese message naming the bad setting."""
        try:
            zone = ZoneInfo(timezone)
        except Exception as exc:
            raise ValueError(f"办公时区无效：{timezone}") from exc
        periods = []
        for part in filter(None, (p.strip() for p in hours.split(","))):
            try:
                start, end = (time.fromisoformat(x.strip()) for x in part.split("-"))
            except ValueError as exc:
                raise ValueError(f"办公时间格式应为 09:00-12:00，收到：{part}") from exc
            if start >= end:
                raise ValueError(f"办公时间的开始应早于结束：{part}")
            periods.append((start, end))
        if not periods:
            raise ValueError("办公时间不能为空")
        try:
            weekdays = frozenset(int(d) for d in days.split(",") if d.strip())
            off = frozenset(date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip())
            extra = frozenset(
                date.fromisoformat(d.strip()) for d in extra_workdays.split(",") if d.strip()
            )
        except ValueError as exc:
            raise ValueError(f"办公日或节假日设置无效：{exc}") from exc
        if not weekdays <= set(range(1, 8)):
            raise ValueError("办公日应为 1–7（1 为星期一）")
        return cls(zone, tuple(sorted(periods)), weekdays, off, extra, reply_within_minutes)

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.isoweekday() in self.days and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if not self.is_workday(local.date()):
            return False
        return any(start <= local.time() < end for start, end in self.periods)

    def next_opening(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(400):
            if self.is_workday(day):
                for start, _end in self.periods:
                    opening = datetime.combine(day, start, tzinfo=self.zone)
                    if opening > local:
                        return opening
            day += timedelta(days=1)
        raise ValueError("一年内没有办公日，请检查办公时间设置")

    def notice(self, moment: datetime) -> str:
        """What a citizen is told once a person has been asked for."""
        if self.is_open(moment):
            return (
                f"已为您转接人工服务，工作人员一般会在 {self.reply_within_minutes} 分钟内回复，"
                "请留意本窗口的消息。您可以继续留言，留言会一并转给工作人员。"
            )
        opening = self.next_opening(moment)
        local = moment.astimezone(self.zone)
        if opening.date() == local.date():
            when = f"今天 {opening:%H:%M}"
        elif opening.date() == local.date() + timedelta(days=1):
            when = f"明天（星期{_WEEKDAYS[opening.weekday()]}）{opening:%H:%M}"
        else:
            when = (
                f"{opening.month}月{opening.day}日（星期{_WEEKDAYS[opening.weekday()]}）"
                f"{opening:%H:%M}"
            )
        return (
            f"已为您转接人工服务。现在是非工作时间，工作人员将于{when}上班后回复您。"
            "您可以继续留言，留言会一并转给工作人员。"
        )
