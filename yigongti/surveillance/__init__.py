"""surveillance — notifiable-disease case reports (传染病报告卡), their deadlines and review, and
early warning (CIDARS moving percentile, EARS C1–C3, CUSUM, single-case rule) with the county
CDC's signal queue and outbreak investigations."""
