"""``python -m examples.app seed`` writes the sample data; ``serve`` runs the API.

The database URL is ``--database``, else the ``CRM_DATABASE_URL``
environment variable, else ``sqlite:///crm.db`` (a file in the current
directory). A PostgreSQL URL works unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from crmcore.sample import generate_sample

from .api import create_app, make_engine
from .models import Base, Opportunity
from .seed import seed

DEFAULT_DATABASE = "sqlite:///crm.db"


def _seed(engine: Engine, url: str, opportunities: int, *, only_if_empty: bool) -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        present = session.scalar(select(func.count()).select_from(Opportunity))
        if present:
            if only_if_empty:
                print(f"{url}: {present:,} opportunities already there; not seeding")
                return
            sys.exit(
                f"{url} already holds {present:,} opportunities; seed an empty database"
            )
        counts = seed(session, generate_sample(opportunities))
    written = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    print(f"seeded {url}: {written}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.app", description=__doc__)
    parser.add_argument(
        "--database",
        default=os.environ.get("CRM_DATABASE_URL", DEFAULT_DATABASE),
        help="SQLAlchemy database URL (default: $CRM_DATABASE_URL or %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed", help="write crmcore's sample data")
    seeding.add_argument("--opportunities", type=int, default=1_000)
    serving = commands.add_parser("serve", help="seed an empty database, then serve")
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=8000)
    serving.add_argument("--opportunities", type=int, default=1_000)
    args = parser.parse_args(argv)
    if args.command == "serve" and args.database in ("sqlite://", "sqlite:///:memory:"):
        # One in-memory connection would be shared by concurrent requests,
        # and their transactions with it.
        sys.exit("serve a database file or server: an in-memory SQLite is for tests")
    engine = make_engine(args.database)
    if args.command == "seed":
        _seed(engine, args.database, args.opportunities, only_if_empty=False)
        return
    _seed(engine, args.database, args.opportunities, only_if_empty=True)
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    uvicorn.run(create_app(engine=engine), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
