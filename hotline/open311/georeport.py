"""GeoReport v2 documents as plain values, and their JSON / XML encodings (pure: no database).

Field names follow the GeoReport v2 specification (wiki.open311.org/GeoReport_v2): services,
service definitions, service requests and errors. XML is written with ``xml.etree``: the root is
the plural (``services``, ``service_requests``, ``errors``), each item the singular.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from hotline.lib.text import scrub, scrub_data

XML_ITEM = {"services": "service", "service_requests": "request", "errors": "error", "values": "value",
            "attributes": "attribute"}


CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def error_list(code: int, description: str) -> list[dict]:
    return [{"code": code, "description": description}]


def to_json(data) -> bytes:
    return json.dumps(scrub_data(data), ensure_ascii=False).encode()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # XML 1.0 cannot hold control characters at all: one stored in a title must not break the feed.
    return scrub(str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, scrub(key)), inner)
    elif isinstance(value, list):
        item = XML_ITEM.get(element.tag, "item")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    """``data`` under ``<root>``: a list becomes repeated singular children, a dict nested elements."""
    element = ET.Element(root)
    _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)
