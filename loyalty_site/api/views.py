"""Base class shared by every API view: the envelope family and the caller's org scope."""

from __future__ import annotations

from functools import cached_property

from rest_framework.views import APIView

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.principal import ApiPrincipal
from loyalty_site.api.scoping import DataScope, resolve_data_scope


class BaseApi(APIView):
    envelope: Envelope = Envelope.V2

    @property
    def principal(self) -> ApiPrincipal:
        return self.request.user

    @cached_property
    def scope(self) -> DataScope:
        return resolve_data_scope(self.request)
