"""The settings of the optional sign-in backends, from `BERTH_LDAP_*` and `BERTH_OIDC_*`.

registry_ui/settings.py calls `ldap_settings(env)` and `oidc_settings(env)` and adds what they
return to its own names: the `AUTH_LDAP_*` settings django-auth-ldap reads, the `OIDC_*` ones
mozilla-django-oidc reads, and Berth's own switches (`LDAP_ENABLED`, `OIDC_ENABLED`, ...).
This module runs while settings load, so it imports nothing that needs Django's app registry.
An empty value counts as unset (docker-compose.yml passes every variable, empty or not).
"""

from __future__ import annotations

from typing import Any

import environ
import ldap
from django.core.exceptions import ImproperlyConfigured
from django_auth_ldap.config import (
    ActiveDirectoryGroupType,
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPGroupType,
    LDAPSearch,
    NestedActiveDirectoryGroupType,
    NestedGroupOfNamesType,
    PosixGroupType,
)

#: BERTH_LDAP_GROUP_TYPE values: the group type and the default filter of the group search.
LDAP_GROUP_TYPES: dict[str, tuple[type[LDAPGroupType], str]] = {
    "groupOfNames": (GroupOfNamesType, "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": (GroupOfUniqueNamesType, "(objectClass=groupOfUniqueNames)"),
    "posixGroup": (PosixGroupType, "(objectClass=posixGroup)"),
    "activeDirectory": (ActiveDirectoryGroupType, "(objectClass=group)"),
    "nestedGroupOfNames": (NestedGroupOfNamesType, "(objectClass=groupOfNames)"),
    "nestedActiveDirectory": (NestedActiveDirectoryGroupType, "(objectClass=group)"),
}


def _str(env: environ.Env, name: str, default: str = "") -> str:
    return env.str(name, default="").strip() or default


def _bool(env: environ.Env, name: str, default: bool) -> bool:
    return env.bool(name) if _str(env, name) else default


def _number(env: environ.Env, name: str, default: float) -> float:
    value = _str(env, name)
    try:
        number = float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise ImproperlyConfigured(f"{name} must be positive")
    return number


def ldap_settings(env: environ.Env) -> dict[str, Any]:
    """Settings for sign-in through LDAP; only `LDAP_ENABLED=False` when BERTH_LDAP_SERVER_URI
    is empty. Raises ImproperlyConfigured for a missing or malformed value."""
    server = _str(env, "BERTH_LDAP_SERVER_URI")
    if not server:
        return {"LDAP_ENABLED": False, "LDAP_MIRROR_GROUPS": False}
    user_base = _str(env, "BERTH_LDAP_USER_SEARCH_BASE")
    if not user_base:
        raise ImproperlyConfigured("BERTH_LDAP_SERVER_URI needs BERTH_LDAP_USER_SEARCH_BASE")
    timeout = _number(env, "BERTH_LDAP_TIMEOUT", 10.0)
    options: dict[int, Any] = {
        ldap.OPT_REFERRALS: 0,  # Active Directory's referrals need other credentials
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
    }
    ca_file = _str(env, "BERTH_LDAP_CA_FILE")
    if ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above
    values: dict[str, Any] = {
        "LDAP_ENABLED": True,
        "AUTH_LDAP_SERVER_URI": server,
        "AUTH_LDAP_BIND_DN": _str(env, "BERTH_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": env.str("BERTH_LDAP_BIND_PASSWORD", default=""),
        "AUTH_LDAP_START_TLS": _bool(env, "BERTH_LDAP_START_TLS", False),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(
            user_base,
            ldap.SCOPE_SUBTREE,
            _str(env, "BERTH_LDAP_USER_FILTER", "(uid=%(user)s)"),
        ),
        "AUTH_LDAP_USER_ATTR_MAP": {
            "first_name": _str(env, "BERTH_LDAP_ATTR_FIRST_NAME", "givenName"),
            "last_name": _str(env, "BERTH_LDAP_ATTR_LAST_NAME", "sn"),
            "email": _str(env, "BERTH_LDAP_ATTR_EMAIL", "mail"),
        },
        # Names, email and the superuser flag follow the directory at every sign-in.
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
    }
    group_base = _str(env, "BERTH_LDAP_GROUP_SEARCH_BASE")
    require_group = _str(env, "BERTH_LDAP_REQUIRE_GROUP")
    superuser_group = _str(env, "BERTH_LDAP_SUPERUSER_GROUP")
    mirror = _bool(env, "BERTH_LDAP_MIRROR_GROUPS", False)
    needing_groups = [
        name
        for name, value in [
            ("BERTH_LDAP_REQUIRE_GROUP", require_group),
            ("BERTH_LDAP_SUPERUSER_GROUP", superuser_group),
            ("BERTH_LDAP_MIRROR_GROUPS", mirror),
        ]
        if value
    ]
    if needing_groups and not group_base:
        raise ImproperlyConfigured(
            f"{', '.join(needing_groups)} need(s) BERTH_LDAP_GROUP_SEARCH_BASE"
        )
    if group_base:
        kind = _str(env, "BERTH_LDAP_GROUP_TYPE", "groupOfNames")
        if kind not in LDAP_GROUP_TYPES:
            raise ImproperlyConfigured(
                f"BERTH_LDAP_GROUP_TYPE must be one of {', '.join(LDAP_GROUP_TYPES)}, not {kind!r}"
            )
        group_type, default_filter = LDAP_GROUP_TYPES[kind]
        values["AUTH_LDAP_GROUP_TYPE"] = group_type()
        values["AUTH_LDAP_GROUP_SEARCH"] = LDAPSearch(
            group_base, ldap.SCOPE_SUBTREE, _str(env, "BERTH_LDAP_GROUP_FILTER", default_filter)
        )
    if require_group:
        values["AUTH_LDAP_REQUIRE_GROUP"] = require_group
    if superuser_group:
        # Staff too: the Django admin lets only staff in.
        values["AUTH_LDAP_USER_FLAGS_BY_GROUP"] = {
            "is_superuser": superuser_group,
            "is_staff": superuser_group,
        }
    # Berth mirrors groups itself (dashboard.auth.ldap), never django-auth-ldap's
    # AUTH_LDAP_MIRROR_GROUPS, which would also drop the user from every team made in Berth.
    values["LDAP_MIRROR_GROUPS"] = mirror
    return values


def oidc_settings(env: environ.Env) -> dict[str, Any]:
    """Settings for sign-in through an OpenID Connect provider; off (`OIDC_ENABLED=False`, its
    pages answer 404) when BERTH_OIDC_RP_CLIENT_ID is empty. Raises ImproperlyConfigured for a
    missing value."""
    client_id = _str(env, "BERTH_OIDC_RP_CLIENT_ID")
    values: dict[str, Any] = {
        "OIDC_ENABLED": bool(client_id),
        "OIDC_PROVIDER_NAME": _str(env, "BERTH_OIDC_PROVIDER_NAME", "SSO"),
        "OIDC_GROUPS_CLAIM": _str(env, "BERTH_OIDC_GROUPS_CLAIM"),
        # mozilla-django-oidc's views read these even when off; ours answer 404 then.
        "OIDC_AUTHENTICATE_CLASS": "dashboard.auth.oidc.OIDCAuthenticateView",
        "OIDC_CALLBACK_CLASS": "dashboard.auth.oidc.OIDCCallbackView",
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "",
        "LOGIN_REDIRECT_URL_FAILURE": "/accounts/login/?oidc=failed",
    }
    if not client_id:
        return values
    endpoints = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "BERTH_OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT": "BERTH_OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT": "BERTH_OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT": "BERTH_OIDC_OP_JWKS_ENDPOINT",
    }
    algorithm = _str(env, "BERTH_OIDC_RP_SIGN_ALGO", "RS256")
    if algorithm.startswith("HS"):
        del endpoints["OIDC_OP_JWKS_ENDPOINT"]  # signed with the client secret: no keys to fetch
    missing = [variable for variable in endpoints.values() if not _str(env, variable)]
    if missing:
        raise ImproperlyConfigured(f"BERTH_OIDC_RP_CLIENT_ID needs {', '.join(missing)}")
    values.update({setting: _str(env, variable) for setting, variable in endpoints.items()})
    values.update(
        {
            "OIDC_RP_CLIENT_SECRET": env.str("BERTH_OIDC_RP_CLIENT_SECRET", default=""),
            "OIDC_RP_SIGN_ALGO": algorithm,
            "OIDC_RP_SCOPES": _str(env, "BERTH_OIDC_SCOPES", "openid email profile"),
            "OIDC_VERIFY_SSL": _bool(env, "BERTH_OIDC_VERIFY_SSL", True),
            "OIDC_TIMEOUT": _number(env, "BERTH_OIDC_TIMEOUT", 10.0),
            "OIDC_USE_PKCE": True,
        }
    )
    return values
