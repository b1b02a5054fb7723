"""Package version and User-Agent."""

__version__ = "0.1.0"
"""The version of speaker-audio (PEP 440), as in its distribution metadata."""
USER_AGENT = f"speaker-audio/{__version__}"
