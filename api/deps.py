"""Dependencies shared by the routes, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from api.database import Database


def get_database(request: Request) -> Database:
    return request.app.state.database


Db = Annotated[Database, Depends(get_database)]
