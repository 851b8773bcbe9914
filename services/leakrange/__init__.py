"""LeakPro Range: a privacy cyber range for machine-learning systems."""

__version__ = "0.1.0"
