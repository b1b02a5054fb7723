from enum import StrEnum


class SpeakerSeparationResponseModelStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_STARTED = "not_started"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
