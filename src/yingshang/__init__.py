"""营商通 — a platform for a 营商办 to run the business-environment reforms as measurable daily work."""

__version__ = "0.1.0"
