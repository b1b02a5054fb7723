"""Contains all the data models used in inputs/outputs"""

from .http_validation_error import HTTPValidationError
from .speaker_audio_response_model import SpeakerAudioResponseModel
from .speaker_response_model import SpeakerResponseModel
from .speaker_separation_response_model import SpeakerSeparationResponseModel
from .speaker_separation_response_model_speakers_type_0 import (
    SpeakerSeparationResponseModelSpeakersType0,
)
from .speaker_separation_response_model_status import (
    SpeakerSeparationResponseModelStatus,
)
from .start_speaker_separation_response_model import StartSpeakerSeparationResponseModel
from .utterance_response_model import UtteranceResponseModel
from .validation_error import ValidationError
from .voice_sample_preview_response_model import VoiceSamplePreviewResponseModel

__all__ = (
    "HTTPValidationError",
    "SpeakerAudioResponseModel",
    "SpeakerResponseModel",
    "SpeakerSeparationResponseModel",
    "SpeakerSeparationResponseModelSpeakersType0",
    "SpeakerSeparationResponseModelStatus",
    "StartSpeakerSeparationResponseModel",
    "UtteranceResponseModel",
    "ValidationError",
    "VoiceSamplePreviewResponseModel",
)
