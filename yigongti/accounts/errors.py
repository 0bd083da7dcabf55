from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401
    message = _("用户名或密码错误。")


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423
    message = _("登录失败次数过多，账户已锁定，请 %(minutes)s 分钟后再试。")
