"""Kubernetes names and label values from Score names, deterministic and valid."""

from __future__ import annotations

import hashlib
import re

_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as an RFC 1123 label (lower case, digits, ``-``; at most ``limit`` characters).

    A name that had to change or be cut gets a short hash of the original, so two
    different Score names never map to the same object name.
    """
    clean = _INVALID.sub("-", text.lower()).strip("-") or "x"
    if clean == text and len(clean) <= limit:
        return clean
    suffix = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{clean[: limit - 7].rstrip('-')}-{suffix}"


def label_value(text: str) -> str:
    """``text`` as a label value: at most 63 of ``[A-Za-z0-9_.-]``, alphanumeric at both ends."""
    clean = _LABEL_INVALID.sub("-", text)[:63]
    return clean.strip("-_.")


def port_name(text: str) -> str:
    """A Service port name (an IANA service name: at most 15 characters, one letter at least)."""
    name = dns_label(text, limit=15)
    return name if re.search(r"[a-z]", name) else f"p-{name}"[:15]


def env_key(name: str) -> str:
    """A Secret or ConfigMap key for a variable or file (``[-._a-zA-Z0-9]+``)."""
    return re.sub(r"[^-._a-zA-Z0-9]+", "_", name) or "_"
