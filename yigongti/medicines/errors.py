"""Errors of the medicines app (DomainError subclasses: code, status, translatable message).

Each names the item (药品) and, where it matters, the batch (批号), the institution and the quantity.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, DomainError, ValidationFailed


class CatalogueInvalid(ValidationFailed):
    """The catalogue fixture with a bad entry: ``key`` (e.g. ``medicines[3].strength``) and ``reason``."""

    code = "medicines_catalogue_invalid"
    message = _("药品目录 %(key)s 有误：%(reason)s")


class StockInputInvalid(ValidationFailed):
    """A movement, requisition, order or prescription with a bad field: ``field`` and ``reason``."""

    code = "medicines_input_invalid"
    message = _("%(field)s：%(reason)s")


class NotInCatalogue(ValidationFailed):
    """An item not in the essential-medicines catalogue, or not on the institution level's list."""

    code = "medicines_not_in_catalogue"
    message = _("%(item)s 不在%(catalogue)s内。")


class OutOfStock(Conflict):
    """Not enough stock: ``item`` at ``institution``, ``wanted`` and ``available`` (in the item's unit)."""

    code = "medicines_out_of_stock"
    message = _("%(institution)s 的 %(item)s 库存不足：需要 %(wanted)s，可用 %(available)s。")


class WrongStatus(Conflict):
    """A step of a document in a status that does not allow it (e.g. approving a shipped requisition)."""

    code = "medicines_wrong_status"
    message = _("%(document)s 当前状态为“%(status)s”，不能%(action)s。")


class NoContract(DomainError):
    """No contracted supplier and price in force for the item on the day."""

    code = "medicines_no_contract"
    status = 409
    message = _("%(item)s 在 %(date)s 没有有效的采购合同价格。")


class StockBusy(Conflict):
    """Another dispensing or shipment held the same stock too long; the caller may try again."""

    code = "medicines_stock_busy"
    message = _("库存正被其他操作占用，请稍后重试。")
