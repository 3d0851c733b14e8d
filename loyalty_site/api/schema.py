"""OpenAPI descriptions of the till authentication schemes (loaded by CoreConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TillBasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty_site.api.authentication.TillBasicAuthentication"
    name = "tillBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Till code as username, MD5 hex of the till password as password.",
        }


class OAuthTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty_site.api.authentication.OAuthTokenAuthentication"
    name = "oauthToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-CAP-API-OAUTH-TOKEN",
            "description": "Access token from POST /v3/oauth/token/generate (valid 300 s).",
        }
