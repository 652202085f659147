"""REST endpoints: 政策库."""
from ninja import Router

router = Router(tags=["政策库"])
