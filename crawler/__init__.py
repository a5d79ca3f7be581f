"""scamradar: watches the Kazakhstan media space for scam advertising."""

__version__ = "0.1.0"
