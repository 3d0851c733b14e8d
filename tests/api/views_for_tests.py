"""Minimal views over the shared API plumbing, so it is tested apart from any domain."""

from rest_framework import serializers
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError


class WhoAmIApi(BaseApi):
    def get(self, request):
        return Response(
            {
                "till": self.principal.till.code,
                "authTill": self.principal.auth_till.code,
                "org": self.principal.org_id,
                "method": self.principal.auth_method,
            }
        )


class ScopeApi(BaseApi):
    def get(self, request):
        return Response({"mode": self.scope.mode, "orgIds": list(self.scope.org_ids)})

    def post(self, request):
        return Response({"mode": self.scope.mode, "writeOrgId": self.scope.write_org_id})


class EchoInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    items = serializers.ListField(child=serializers.IntegerField(min_value=1))


def make_failing_view(envelope: Envelope):
    class FailingApi(BaseApi):
        def get(self, request):
            kind = request.query_params.get("fail")
            if kind == "domain":
                raise DomainError("Coupon already redeemed", code=702, http_status=400)
            if kind == "crash":
                raise RuntimeError("boom")
            return Response({"ok": True})

        def post(self, request):
            serializer = EchoInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return Response(serializer.validated_data)

    FailingApi.envelope = envelope
    FailingApi.__name__ = f"Failing{envelope.name}Api"
    return FailingApi
