"""userGroup2 routes at the contract's paths (§7); `leave` is an extension mirroring `join`."""

from django.urls import path

from members.api.groups.views import UserGroupApi, UserGroupJoinApi, UserGroupLeaveApi

urlpatterns = [
    path("v2/userGroup2", UserGroupApi.as_view(), name="usergroup2"),
    path("v2/userGroup2/join", UserGroupJoinApi.as_view(), name="usergroup2-join"),
    path("v2/userGroup2/leave", UserGroupLeaveApi.as_view(), name="usergroup2-leave"),
]
