"""API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import CurrentUser, SessionDep
from api.schemas import MAX_INT, TokenCreate, TokenCreated, TokenPublic
from api.services import directory

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("")
async def list_tokens(
    user: CurrentUser, session: SessionDep, all: bool = False
) -> list[TokenPublic]:
    """The caller's tokens (`all=true`: everyone's, admins only)."""
    return await directory.list_tokens(session, user, everyone=all)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    """Create a token for the caller."""
    return await directory.create_token(session, user.id, body.name)


@router.delete("/{token_id}")
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: CurrentUser, session: SessionDep
) -> TokenPublic:
    """Revoke a token; requests with it get 401 from now on."""
    return await directory.revoke_token(session, user, token_id)
