"""Roles and the capability matrix of SPEC §2. Pure Python: the single source of who may do what."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


class Capability(models.TextChoices):
    READ = "read", "Read dashboards, claims, drift, alerts, uploads"
    VIEW_PHI = "view_phi", "See decrypted PHI fields"
    WRITE_DATA = "write_data", "Upload claims, edit payer/CPT mappings, trigger drift runs"
    GIVE_FEEDBACK = "give_feedback", "Give alert feedback"
    MANAGE_CONFIG = "manage_config", "Manage alert rules, webhook endpoints, notification settings"
    MANAGE_MEMBERS = "manage_members", "Manage memberships"
    READ_AUDIT = "read_audit", "Read the audit log"
    CREATE_CUSTOMERS = "create_customers", "Create customers"


_ANALYST = frozenset({Capability.READ, Capability.VIEW_PHI, Capability.WRITE_DATA, Capability.GIVE_FEEDBACK})
_ADMIN = _ANALYST | {Capability.MANAGE_CONFIG, Capability.MANAGE_MEMBERS, Capability.READ_AUDIT}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.OWNER: _ADMIN,
    Role.ADMIN: _ADMIN,
    Role.ANALYST: _ANALYST,
    Role.VIEWER: frozenset({Capability.READ}),
}
SUPERUSER_CAPABILITIES: frozenset[str] = frozenset(Capability.values)

# Which roles a member of each role may grant, change or remove (SPEC §2: admins manage analysts and
# viewers only).
MANAGEABLE_ROLES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Role.values),
    Role.ADMIN: frozenset({Role.ANALYST, Role.VIEWER}),
    Role.ANALYST: frozenset(),
    Role.VIEWER: frozenset(),
}


def capabilities_for(*, role: str | None, is_superuser: bool) -> frozenset[str]:
    if is_superuser:
        return SUPERUSER_CAPABILITIES
    if role is None:
        return frozenset()
    return ROLE_CAPABILITIES[role]


def can_manage_role(*, actor_role: str | None, is_superuser: bool, target_role: str) -> bool:
    if is_superuser:
        return True
    if actor_role is None:
        return False
    return target_role in MANAGEABLE_ROLES[actor_role]
