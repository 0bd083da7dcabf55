"""insurance — the urban-rural resident medical insurance (城乡居民医保, formerly 新农合).

This first slice holds the policies as data (:mod:`.policy`, YAML under ``fixtures/policies/``) and
the pure adjudication engine (:mod:`.adjudication`): costs by category, the person's coverage and
year-to-date accumulators and a policy in, a settlement out — basic fund, 大病保险, 医疗救助 and
the patient's share, with an explanation line by line. No models yet: enrolment, direct settlement
and the fund view come later (issue 9).
"""
