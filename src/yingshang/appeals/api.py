"""REST endpoints: 诉求."""
from ninja import Router

router = Router(tags=["诉求"])
