"""Package version and User-Agent."""

__version__ = "0.1.0"
USER_AGENT = f"speaker-audio/{__version__}"
