"""podium-opa: platform policies written in Rego, evaluated in-process with regopy.

The plugin module is :mod:`podium_opa.plugin`; nothing heavy is imported here.
"""
