"""REST endpoints: 政策匹配."""
from ninja import Router

router = Router(tags=["政策匹配"])
