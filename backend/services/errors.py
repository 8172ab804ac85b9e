"""Domain errors raised by services.

Every refusal carries an ``ErrorCode``; the transports show the text for that code in the user's
language (the bot: ``error.<code>`` in bot/locales; the web: the same Chinese text). ``message``
is the Chinese fallback for codes a transport has no text for.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable machine codes of every refusal (values are the locale keys' suffixes)."""

    domain_error = "domain_error"
    not_found = "not_found"
    not_allowed = "not_allowed"
    invalid_transition = "invalid_transition"
    validation_failed = "validation_failed"
    conflict = "conflict"
    # who may act
    not_staff = "not_staff"
    not_dispatcher = "not_dispatcher"
    not_reporter = "not_reporter"
    other_unit = "other_unit"
    # the case's state
    case_closed = "case_closed"
    case_grid_resolved = "case_grid_resolved"
    case_accepted = "case_accepted"
    case_resolved = "case_resolved"
    case_returned = "case_returned"
    case_triage = "case_triage"
    case_not_accepted = "case_not_accepted"
    # decisions and tasks
    task_taken = "task_taken"
    task_not_accepted = "task_not_accepted"
    task_done = "task_done"
    tasks_pending = "tasks_pending"
    extension_pending = "extension_pending"
    no_extension_request = "no_extension_request"
    no_return = "no_return"
    no_joint_request = "no_joint_request"
    already_joint = "already_joint"
    no_unit = "no_unit"
    # what was typed or picked
    unit_required = "unit_required"
    unit_not_found = "unit_not_found"
    same_unit = "same_unit"
    units_required = "units_required"
    reason_code_unknown = "reason_code_unknown"
    reason_required = "reason_required"
    result_required = "result_required"
    text_required = "text_required"
    file_required = "file_required"
    days_invalid = "days_invalid"
    score_unknown = "score_unknown"
    bad_button = "bad_button"
    # invites
    invite_invalid = "invite_invalid"


def as_code(value: ErrorCode | str | None) -> ErrorCode | str | None:
    """The enum member for ``value`` when there is one (codes of other services stay strings)."""
    if value is None or isinstance(value, ErrorCode):
        return value
    try:
        return ErrorCode(value)
    except ValueError:
        return value


class DomainError(Exception):
    """A refusal the user should see: ``code`` picks the text, ``params`` fill it in."""

    default_code: ErrorCode | str = ErrorCode.domain_error
    default_message = "操作未能完成，请稍后再试。"

    def __init__(
        self, message: str | None = None, *, code: ErrorCode | str | None = None, **params: Any
    ) -> None:
        self.code: ErrorCode | str = as_code(code) or self.default_code
        self.message = message or self.default_message
        self.params = params
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={str(self.code)!r}, message={self.message!r})"


class NotFound(DomainError):
    default_code = ErrorCode.not_found
    default_message = "没有找到该事项，请核对编号。"


class NotAllowed(DomainError):
    """The actor's role or unit does not permit this action."""

    default_code = ErrorCode.not_allowed
    default_message = "您没有权限进行此操作。"


class InvalidTransition(DomainError):
    """The case is not in a state where this action applies (e.g. already claimed or closed)."""

    default_code = ErrorCode.invalid_transition
    default_message = "该事项当前状态下不能进行此操作。"


class InviteError(DomainError):
    default_code = ErrorCode.invite_invalid
    default_message = "邀请码无效、已使用或已过期，请向管理员重新索取。"


class ValidationFailed(DomainError):
    default_code = ErrorCode.validation_failed
    default_message = "填写的内容不完整或格式不正确。"
