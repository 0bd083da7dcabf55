"""``ygt referrals escalate [--at ISO]`` — the escalation job: every referral still unanswered at
its escalation time goes to the 医共体 referral centre (marked ``escalated_at``, an event and an
audit entry each); prints how many. Idempotent: a referral is escalated once.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.referrals.services import referrals_escalate


def parse_at(text: str) -> dt.datetime:
    """An ISO date or date-time; a naive one is local time (Asia/Shanghai)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(_("时间无效（应为 ISO 格式，如 2026-06-15T08:00）：%(value)s") % {"value": text}) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = "ygt referrals escalate [--at ISO] — escalate unanswered referrals past their deadline"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        escalate = sub.add_parser("escalate", help=_("超时未应答的转诊单升级到医共体转诊中心"))
        escalate.add_argument("--at", help=_("按此时间执行（ISO，默认现在）"))

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_at(options["at"]) if options.get("at") else timezone.now()
        count = referrals_escalate(at=at)
        self.stdout.write(_("已升级 %(count)s 张超时未应答的转诊单（%(at)s）") % {
            "count": count, "at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")})
