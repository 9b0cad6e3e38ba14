"""Rendering an edition's variants: HTML (MJML, CSS inlined) and text, labels per language."""

from __future__ import annotations

from .renderer import RenderedVariant, Renderer
from .sections import DEGRADE_LEVELS

__all__ = ["DEGRADE_LEVELS", "RenderedVariant", "Renderer"]
