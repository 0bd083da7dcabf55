"""The referral state machine (双向转诊流程), pure: no database, no clock.

::

    requested --accept--> accepted --arrive--> arrived --complete--> completed
    requested --reject--> rejected
    requested | accepted --cancel--> cancelled

Anything else is :class:`~.errors.IllegalTransition` (409), naming the current status and the
action ("转诊单当前为“已撤销”，不能接收"). The services apply a transition under a row lock and a
conditional UPDATE, so of two concurrent accepts exactly one wins and the other gets the 409.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from .choices import ReferralStatus
from .errors import IllegalTransition


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    ARRIVE = "arrive"
    COMPLETE = "complete"


S = ReferralStatus
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.REQUESTED, Action.ACCEPT): S.ACCEPTED,
    (S.REQUESTED, Action.REJECT): S.REJECTED,
    (S.REQUESTED, Action.CANCEL): S.CANCELLED,
    (S.ACCEPTED, Action.CANCEL): S.CANCELLED,
    (S.ACCEPTED, Action.ARRIVE): S.ARRIVED,
    (S.ARRIVED, Action.COMPLETE): S.COMPLETED,
}
# Which side of the referral may take each action: the receiving ("to") or the sending ("from").
SIDE: dict[str, str] = {
    Action.ACCEPT: "to", Action.REJECT: "to", Action.ARRIVE: "to", Action.COMPLETE: "to", Action.CANCEL: "from",
}
# The verb in an error message ("…，不能接收").
ACTION_LABELS: dict[str, Any] = {
    Action.ACCEPT: _("接收"),
    Action.REJECT: _("拒绝"),
    Action.CANCEL: _("撤销"),
    Action.ARRIVE: _("登记到诊"),
    Action.COMPLETE: _("完成"),
}
OPEN = (S.REQUESTED, S.ACCEPTED, S.ARRIVED)
CLOSED = (S.COMPLETED, S.REJECTED, S.CANCELLED)


def status_label(status: str) -> Any:
    try:
        return ReferralStatus(status).label
    except ValueError:
        return status


def allowed_actions(status: str) -> list[str]:
    """The actions the machine allows from ``status`` (for the UI's buttons)."""
    return [action for (source, action) in TRANSITIONS if source == status]


def next_status(status: str, action: str) -> str:
    """The status after ``action`` from ``status``, or :class:`IllegalTransition`."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise IllegalTransition(status=status_label(status), action=ACTION_LABELS.get(action, action))
    return target
