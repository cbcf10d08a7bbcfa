"""Clients of the Open311 GeoReport v2 interface (apps, partner platforms) and their API keys."""

import secrets

from django.db import models


def new_key() -> str:
    return secrets.token_urlsafe(24)


class Open311Client(models.Model):
    """A system allowed to create service requests (POST requests) with its ``api_key``.

    Reading services and requests needs no key: those answers carry no personal data.
    """

    name = models.CharField("名称", max_length=60, unique=True)
    key = models.CharField("API 密钥", max_length=64, unique=True, default=new_key)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "Open311 客户端"
        ordering = ["name"]

    def __str__(self):
        return self.name
