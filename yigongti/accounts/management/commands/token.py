"""``ygt token create --user USERNAME --name NAME [--days N]`` — a new API key, printed once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.accounts.models import User
from yigongti.accounts.services import token_create


class Command(BaseCommand):
    help = "API tokens: ygt token create --user USERNAME --name NAME [--days N] (0 = no expiry)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="create")
        create = sub.add_parser("create", help="create a token and print its key (shown once)")
        create.add_argument("--user", required=True, help="user name")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument("--days", type=int, default=365, help="valid for N days (default 365; 0 = no expiry)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") != "create":
            raise CommandError(_("用法：ygt token create --user 用户名 --name 名称 [--days N]"))
        if options["days"] < 0:
            raise CommandError(_("--days 不能为负数"))
        user = User.objects.filter(username=options["user"]).first()
        if user is None or not user.is_active:
            raise CommandError(_("用户不存在或已停用：%(user)s") % {"user": options["user"]})
        key = token_create(user=user, name=options["name"], days=options["days"] or None)
        self.stdout.write(key)
        self.stderr.write(_("请立即保存此令牌，它不会再次显示。"))
