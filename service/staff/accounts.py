"""Staff users and roles, passwords (argon2), sign-in with throttling, browser sessions with a
CSRF token each, and API tokens for scripts. Tokens are stored as sha256 digests only."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.db.models import (
    ApiToken,
    LoginFailure,
    StaffRole,
    StaffSession,
    StaffUser,
    utcnow,
)
from service.problems import Conflict, Invalid, TooManyAttempts, Unauthenticated
from service.staff import audit

ROLES = {"admin": "管理员", "editor": "编辑", "reviewer": "审核员", "agent": "客服"}
SESSION_HOURS = 8
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_NAME = re.compile(r"^[\w.\-@]{2,64}$")
_hasher = PasswordHasher()
# Verified against when the account does not exist, so that timing does not tell.
_DUMMY_HASH = _hasher.hash("policyqa-no-such-account")


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    roles: frozenset[str]
    csrf_token: str | None  # browser sessions only; API tokens need none
    session_id: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(f"未知角色：{'、'.join(unknown)}（可选：{'、'.join(ROLES)}）")
    if not roles:
        raise Invalid("至少需要一个角色")
    return sorted(set(roles))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"密码至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"密码最多 {MAX_PASSWORD} 个字符")


def create_user(db: Session, *, name: str, password: str, roles: list[str]) -> StaffUser:
    if not _NAME.match(name):
        raise Invalid("用户名应为 2–64 个字母、数字、汉字或 . - _ @")
    check_password(password)
    roles = check_roles(roles)
    if db.scalars(select(StaffUser.id).where(StaffUser.name == name)).first() is not None:
        raise Conflict(f"用户名 {name} 已存在")
    user = StaffUser(name=name, password_hash=_hasher.hash(password), active=True)
    db.add(user)
    db.flush()
    db.add_all(StaffRole(user_id=user.id, role=r) for r in roles)
    return user


def roles_of(db: Session, user_id: int) -> frozenset[str]:
    return frozenset(db.scalars(select(StaffRole.role).where(StaffRole.user_id == user_id)))


def set_roles(db: Session, *, user_id: int, roles: list[str]) -> list[str]:
    roles = check_roles(roles)
    db.execute(delete(StaffRole).where(StaffRole.user_id == user_id))
    db.add_all(StaffRole(user_id=user_id, role=r) for r in roles)
    return roles


def login(db: Session, *, name: str, password: str, client: str) -> tuple[str, Staff]:
    """Returns the session token (for the cookie) and the signed-in staff member."""
    now = utcnow()
    since = now - THROTTLE_WINDOW
    account_failures = db.scalar(
        select(func.count()).where(LoginFailure.account == name[:64], LoginFailure.at >= since)
    )
    client_failures = db.scalar(
        select(func.count()).where(LoginFailure.client == client[:64], LoginFailure.at >= since)
    )
    if (account_failures or 0) >= MAX_FAILURES_PER_ACCOUNT or (
        client_failures or 0
    ) >= MAX_FAILURES_PER_CLIENT:
        raise TooManyAttempts("登录失败次数过多，请 15 分钟后再试")
    user = db.scalars(select(StaffUser).where(StaffUser.name == name)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise Unauthenticated("用户名或密码错误")
    db.execute(delete(LoginFailure).where(LoginFailure.account == name))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    session = StaffSession(
        id=digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    db.add(session)
    audit.record(db, actor_id=user.id, actor_name=user.name, action="login", client=client)
    return token, Staff(user.id, user.name, roles_of(db, user.id), session.csrf_token, session.id)


def record_failure(db: Session, *, name: str, client: str) -> None:
    """In its own transaction, so that it stays when the sign-in is refused."""
    db.add(LoginFailure(account=name[:64], client=client[:64]))
    audit.record(db, actor_id=None, actor_name=name[:64], action="login_failed", client=client)


def from_session(db: Session, token: str) -> Staff | None:
    session = db.get(StaffSession, digest(token))
    if session is None or session.expires_at < utcnow():
        return None
    user = db.get(StaffUser, session.user_id)
    if user is None or not user.active:
        return None
    return Staff(user.id, user.name, roles_of(db, user.id), session.csrf_token, session.id)


def from_api_token(db: Session, token: str) -> Staff | None:
    row = db.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    if row is None:
        return None
    user = db.get(StaffUser, row.user_id)
    if user is None or not user.active:
        return None
    return Staff(user.id, user.name, roles_of(db, user.id), None)


def create_api_token(db: Session, *, user_id: int, name: str) -> str:
    token = "pqa_" + secrets.token_urlsafe(32)
    db.add(ApiToken(token_hash=digest(token), user_id=user_id, name=name[:64]))
    return token


def logout(db: Session, session_id: str) -> None:
    db.execute(delete(StaffSession).where(StaffSession.id == session_id))
