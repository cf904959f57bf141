"""Analysis suite for service-improvement campaigns (服务提升年)."""

__version__ = "0.1.0"
