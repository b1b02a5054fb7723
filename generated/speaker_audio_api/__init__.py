"""A client library for accessing speaker-audio: ElevenLabs PVC speaker separation"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
