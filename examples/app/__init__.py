"""A reference service: crmcore inside a SQLAlchemy 2 and FastAPI application.

Run ``python -m examples.app serve`` from the repository's root (it seeds an
empty database first); see ``examples/app/README.md``.
"""

from .api import create_app, make_engine

__all__ = ["create_app", "make_engine"]
