"""Exports of what a platform runs to developer portals (``podium catalog export``)."""

from podium.catalog.backstage import CatalogEntity, backstage_entities, render_yaml

__all__ = ["CatalogEntity", "backstage_entities", "render_yaml"]
