"""Mounted under /api/ beside the staff JSON API: /api/openapi.json."""

from django.urls import path

from hotline.open311.openapi import openapi_json

urlpatterns = [path("openapi.json", openapi_json, name="openapi")]
