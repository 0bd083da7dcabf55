"""The JSON API under /api/v1/ — mounts every app's router. OpenAPI at /api/v1/openapi.json.

Every route authenticates (API token or browser session, :data:`yigongti.accounts.api.API_AUTH`)
and every error is problem details (:mod:`yigongti.core.api`). A later app adds its router here.
"""

from ninja import NinjaAPI

from yigongti.accounts.api import API_AUTH
from yigongti.accounts.api import router as accounts_router
from yigongti.analytics.api import router as analytics_router
from yigongti.care.api import results_router
from yigongti.care.api import router as care_router
from yigongti.core.api import install_problem_handlers
from yigongti.insurance.api import router as insurance_router
from yigongti.medicines.api import router as medicines_router
from yigongti.programmes.api import router as programmes_router
from yigongti.referrals.api import router as referrals_router
from yigongti.registry.api import router as registry_router
from yigongti.residents.api import router as residents_router
from yigongti.surveillance.api import router as surveillance_router

api = NinjaAPI(
    title="yigongti API",
    version="1",
    description="县域医共体平台 JSON API. Authenticate with `Authorization: Bearer ygt_…` "
                "(`ygt token create`) or a browser session. Errors are `application/problem+json`; "
                "`detail` follows `Accept-Language` (zh-hans by default, en).",
    urls_namespace="api",
    auth=API_AUTH,
)
install_problem_handlers(api)

api.add_router("/registry/", registry_router)
api.add_router("/accounts/", accounts_router)
api.add_router("/residents", residents_router)
api.add_router("/programmes", programmes_router)
api.add_router("/care", care_router)
api.add_router("/results", results_router)
api.add_router("/referrals", referrals_router)
api.add_router("/indicators", analytics_router)
api.add_router("/surveillance", surveillance_router)
api.add_router("/insurance", insurance_router)
api.add_router("/medicines", medicines_router)
