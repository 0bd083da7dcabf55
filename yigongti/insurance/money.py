"""Money as :class:`~decimal.Decimal`, to the fen (分, 0.01 yuan).

Amounts come in as JSON/YAML numbers or strings and are parsed exactly (a float through its
shortest repr, so ``0.1`` is ``0.1``, never ``0.1000000000000000055…``). Every computed amount is
quantised to the fen with the policy's rounding mode; the modes offered are monotone, so a larger
amount never rounds to a smaller one (the adjudication's monotonicity rests on this).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# A sanity bound on any single amount (ten billion yuan): beyond it the input is a mistake, and
# staying far below the 28 significant digits of the default context keeps every product exact.
MAX_AMOUNT = Decimal("10000000000")

# 四舍五入 (the usual), 银行家舍入, 舍去 (分以下舍去), 进位. ROUND_05UP is left out on purpose.
ROUNDINGS: dict[str, str] = {
    "ROUND_HALF_UP": ROUND_HALF_UP,
    "ROUND_HALF_EVEN": ROUND_HALF_EVEN,
    "ROUND_DOWN": ROUND_DOWN,
    "ROUND_UP": ROUND_UP,
}
DEFAULT_ROUNDING = "ROUND_HALF_UP"


class AmountError(ValueError):
    """A value that is not an acceptable amount; ``reason`` is the translatable why."""

    def __init__(self, reason: object) -> None:
        self.reason = reason
        super().__init__(str(reason))


def to_decimal(value: object) -> Decimal:
    """A JSON/YAML number or numeric string as an exact Decimal (no rounding), or :class:`AmountError`."""
    if isinstance(value, bool) or value is None:
        raise AmountError(_("应为数字，收到“%(value)s”") % {"value": value})
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise AmountError(_("应为数字，收到“%(value)s”") % {"value": value})
    except InvalidOperation:
        raise AmountError(_("应为数字，收到“%(value)s”") % {"value": value}) from None
    if not number.is_finite():
        raise AmountError(_("应为有限的数字，收到“%(value)s”") % {"value": value})
    return number


def parse_amount(value: object, *, rounding: str = DEFAULT_ROUNDING) -> Decimal:
    """A non-negative amount of money, quantised to the fen (``rounding`` a :data:`ROUNDINGS` key)."""
    return quantize(checked_amount(value), rounding)


def checked_amount(value: object) -> Decimal:
    """An amount of money, exact (not yet rounded): a number from 0 to :data:`MAX_AMOUNT`."""
    number = to_decimal(value)
    if number < 0:
        raise AmountError(_("金额不能为负数，收到 %(value)s") % {"value": value})
    if number > MAX_AMOUNT:
        raise AmountError(_("金额过大（超过 %(max)s 元），收到 %(value)s") % {"max": fmt(MAX_AMOUNT), "value": value})
    return number


def quantize(amount: Decimal, rounding: str = DEFAULT_ROUNDING) -> Decimal:
    """``amount`` to the fen with ``rounding`` (a :data:`ROUNDINGS` key)."""
    return amount.quantize(FEN, rounding=ROUNDINGS[rounding])


def fmt(amount: Decimal) -> str:
    """``1234.5`` → ``1,234.50`` (for the explanation lines)."""
    return f"{amount:,.2f}"


def plain(amount: Decimal) -> str:
    """``1234.5`` → ``1234.50`` (for JSON: a string, so no float ever touches money)."""
    return f"{quantize(amount):f}"


def percent(rate: Decimal) -> str:
    """``0.85`` → ``85%``, ``0.625`` → ``62.5%``."""
    return f"{(rate * 100).normalize():f}%"
