"""`POST /v3/oauth/token/generate` (contract §8): a till key and secret for a short-lived token."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from loyalty_site.api.authentication import oauth_token_issue
from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.errors import InvalidCredentialsError
from loyalty_site.api.views import BaseApi
from members.models import Till


class OAuthTokenGenerateInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=64)
    secret = serializers.CharField(max_length=256)


class OAuthTokenGenerateApi(BaseApi):
    envelope = Envelope.OAUTH
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=OAuthTokenGenerateInputSerializer,
        responses=inline_serializer(
            "OAuthTokenGenerateOutput",
            {
                "data": inline_serializer(
                    "OAuthTokenData",
                    {
                        "accessToken": serializers.CharField(),
                        "ttlSeconds": serializers.IntegerField(),
                    },
                ),
                "errors": serializers.JSONField(allow_null=True),
            },
        ),
        summary="Exchange a till's OAuth key and secret for an access token",
    )
    def post(self, request):
        serializer = OAuthTokenGenerateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = serializer.validated_data["key"]
        secret = serializer.validated_data["secret"]
        till = Till.objects.select_related("org").filter(oauth_key=key).first()
        if (
            till is None
            or not till.is_active
            or not till.org.is_active
            or not till.oauth_secret_hash
            or not check_password(secret, till.oauth_secret_hash)
        ):
            raise InvalidCredentialsError()
        token, ttl = oauth_token_issue(till=till)
        return Response({"data": {"accessToken": token, "ttlSeconds": ttl}, "errors": None})
