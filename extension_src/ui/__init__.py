"""Helpers shared by the extension's pages (popup, options): DOM and text formatting."""
