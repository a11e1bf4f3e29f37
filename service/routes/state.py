"""Wires the conversation state into the application: the database, the event notifier, the
conversations (``app.state.conversations``, also the channels' entry), the handoff desk, the
routers and the mapping of domain errors to HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.analytics import Analytics
from service.answering import Answerer
from service.config import Settings
from service.conversations import Conversations
from service.db.engine import get_database
from service.delivery import Deliverer
from service.desk import Desk
from service.events import Notifier
from service.office_hours import OfficeHours
from service.problems import Problem
from service.routes import (
    admin_documents,
    admin_faq,
    admin_pages,
    analytics_pages,
    conversations,
    problems,
    staff_analytics,
    staff_audit,
    staff_documents,
    staff_faq,
    staff_faq_files,
    staff_session,
    staff_tickets,
    staff_users,
)
from service.schemas import ErrorResponse

STATIC = Path(__file__).resolve().parent.parent / "static"


def office_hours(settings: Settings) -> OfficeHours:
    """Raises ValueError with a Chinese message naming the bad setting."""
    return OfficeHours.parse(
        timezone=settings.office_timezone,
        hours=settings.office_hours,
        days=settings.office_days,
        holidays=settings.holidays,
        extra_workdays=settings.extra_workdays,
        reply_within_minutes=settings.reply_within_minutes,
    )


def install(app: FastAPI, settings: Settings, answerer: Callable[[], Answerer]) -> None:
    database = get_database(settings.effective_database_url())
    notifier = Notifier(settings.redis_url)
    deliverers: dict[str, Deliverer] = {}
    app.state.database = database
    app.state.deliverers = deliverers
    app.state.conversations = Conversations(
        database=database,
        answerer=answerer,
        notifier=notifier,
        office_hours=office_hours(settings),
        session_ttl_seconds=settings.session_ttl_seconds,
        retention_days=settings.retention_days,
    )
    app.state.desk = Desk(database=database, notifier=notifier, deliverers=deliverers)
    app.state.analytics = Analytics(
        database=database,
        answerer=answerer,
        zone=settings.office_timezone,
        max_questions=settings.analytics_max_questions,
        similarity=settings.analytics_group_similarity,
    )
    app.add_exception_handler(Problem, problems.problem_response)
    for module in (
        conversations,
        staff_session,
        staff_tickets,
        staff_users,
        staff_audit,
        staff_analytics,
        analytics_pages,
        staff_faq,
        staff_faq_files,
        staff_documents,
        admin_pages,
        admin_faq,
        admin_documents,
    ):
        # Refused input is answered in the ErrorResponse shape (service/errors.py): say so in the
        # schema too, instead of the framework's default 422 body.
        app.include_router(module.router, responses={422: {"model": ErrorResponse}})
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="admin-static")
