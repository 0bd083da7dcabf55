"""The JSON API under /api/v1/ — mounts every app's router. OpenAPI at /api/v1/openapi.json."""

from ninja import NinjaAPI

api = NinjaAPI(title="yigongti API", version="1", urls_namespace="api")
