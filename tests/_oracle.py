"""The oracle the validator is checked against: jsonschema's Draft 2020-12, with numbers finite as JSON's are."""

from __future__ import annotations

import math
from typing import Any

import jsonschema


def is_finite_number(instance: object) -> bool:
    """A JSON number: an int or float (not a bool), finite."""
    if isinstance(instance, bool) or not isinstance(instance, int | float):
        return False
    try:
        return math.isfinite(instance)
    except OverflowError:
        return False


def _finite_number(checker: Any, instance: object) -> bool:
    return is_finite_number(instance)


FiniteValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number),
)
