"""Signals of the care app.

- :data:`care_plan_issued` — sent inside the transaction of the service that issues a care plan
  (a down-referral's 下转照护计划), with ``resident``, ``programme_code``, ``diagnosis_code``,
  ``issued_on`` (date), ``follow_up_days`` (the first follow-up is due within so many days),
  ``instructions``, ``source`` (e.g. ``"referral:42"``) and ``user``. The programmes app enrols
  the resident in the programme (or keeps the active enrolment) and re-plans it so the next
  follow-up falls due within ``follow_up_days``; a refusal there (not eligible, rules not loaded)
  raises and rolls the sender's transaction back, so a care plan is never silently dropped.
"""

from __future__ import annotations

from django.dispatch import Signal

care_plan_issued = Signal()  # kwargs: resident, programme_code, diagnosis_code, issued_on, follow_up_days,
#                              instructions, source, user
