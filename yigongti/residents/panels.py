"""Links that higher apps add to a resident's record page (居民档案的扩展链接).

The residents app sits below the apps that hang person-level services off a record (programmes,
later referrals …), so it must not import them. Instead a higher app registers a link here from
its ``AppConfig.ready()``; ``residents/detail.html`` renders every registered link with the
record number as the URL's only argument.
"""

from __future__ import annotations

from typing import Any

# (label, URL name taking the record number) in registration order.
RESIDENT_LINKS: list[tuple[Any, str]] = []


def resident_link_register(label: Any, url_name: str) -> None:
    """Show ``label`` on every record page, linking to ``reverse(url_name, args=[record_no])``.

    Registering the same URL name twice keeps one link (``ready()`` may run more than once in tests).
    """
    if any(name == url_name for _label, name in RESIDENT_LINKS):
        return
    RESIDENT_LINKS.append((label, url_name))
