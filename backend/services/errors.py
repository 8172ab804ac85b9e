"""Domain errors raised by services; transports render ``.message`` or their text for ``.code``."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user should see: ``code`` is a stable machine string, ``message`` Chinese."""

    default_code = "domain_error"
    default_message = "操作未能完成，请稍后再试。"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(DomainError):
    default_code = "not_found"
    default_message = "没有找到该事项，请核对编号。"


class NotAllowed(DomainError):
    """The actor's role or unit does not permit this action."""

    default_code = "not_allowed"
    default_message = "您没有权限进行此操作。"


class InvalidTransition(DomainError):
    """The case is not in a state where this action applies (e.g. already claimed or closed)."""

    default_code = "invalid_transition"
    default_message = "该事项当前状态下不能进行此操作。"


class InviteError(DomainError):
    default_code = "invite_invalid"
    default_message = "邀请码无效、已使用或已过期，请向管理员重新索取。"


class ValidationFailed(DomainError):
    default_code = "validation_failed"
    default_message = "填写的内容不完整或格式不正确。"
