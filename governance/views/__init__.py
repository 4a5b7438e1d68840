"""Governance pages: short views — get the object, check the permission, call a service, render.

One module per subject; ``governance/urls.py`` mounts them."""
