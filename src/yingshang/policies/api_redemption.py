"""REST endpoints: 申报与兑现."""
from ninja import Router

router = Router(tags=["申报与兑现"])
