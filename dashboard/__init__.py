"""Dash dashboard over the scenario files and the results store (see ``app.create_app``)."""

from dashboard.app import create_app

__all__ = ["create_app"]
