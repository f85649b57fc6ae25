"""The ledger of [BHK24]'s and [NNT24]'s claims, each with a measured verdict."""
from sigprop.claims.ledger import markdown, run

__all__ = ["markdown", "run"]
