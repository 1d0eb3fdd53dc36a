"""Every setting the portal reads from the environment, declared once per area.

Each area module (``general``, ``database``, ``security``, ``mail``, ``mailin``, ``sla``,
``webhooks``, ``worker``, ``attachments``, ``deploy``) declares its ``Setting``s: key, default, type,
check and README line. ``portal.config`` reads them into the flat ``app.config`` keys;
``python -m portal.settings`` writes the README's table from the same declarations.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from portal.settings import (attachments, database, deploy, general, mail, mailin, security,
                             sla, webhooks, worker)
from portal.settings.declare import Area, ConfigError, Setting

__all__ = ["AREAS", "SETTINGS", "Area", "ConfigError", "Setting", "check", "read"]

AREAS: tuple[Area, ...] = tuple(module.AREA for module in (
    general, database, security, mail, mailin, sla, webhooks, worker, attachments, deploy))
SETTINGS: tuple[Setting, ...] = tuple(setting for area in AREAS for setting in area.settings)


def read(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the ``app.config`` values ``environ`` gives, with each area's fixed ones.

    :raises ConfigError: a value that does not parse, naming its key and the reason.
    """
    values: dict[str, Any] = {}
    for area in AREAS:
        values.update(copy.deepcopy(dict(area.fixed)))  # lists the app may not share
        for setting in area.settings:
            if not setting.reader:
                setting.store(values, setting.read(environ, values))
    return values


def check(config: Mapping[str, Any]) -> None:
    """Run every setting's check on ``config``, overrides included.

    :raises ConfigError: the first unusable value, naming its key and the reason.
    """
    for setting in SETTINGS:
        setting.verify(config)
