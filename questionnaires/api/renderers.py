"""Fast JSON in and out: an orjson renderer (Decimals as JSON numbers) and a size-capped msgspec parser.

DRF's own JSONParser reads the stream without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check,
so the parser enforces the limit itself. Decimals are kept exact on the way in.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import orjson
from django.conf import settings
from django.utils.functional import Promise
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _fallback_default(value: Any) -> Any:
    if isinstance(value, Decimal | Promise | set | frozenset | tuple):
        return _default(value)
    return str(value)


def dumps(data: Any) -> bytes:
    """JSON bytes; falls back to the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(data, default=_fallback_default, separators=(",", ":")).encode()


class JSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


_decoder = msgspec.json.Decoder(float_hook=Decimal)


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return _decoder.decode(raw)
        except msgspec.DecodeError as error:
            raise ParseError(f"Malformed JSON: {error}") from None
        except UnicodeDecodeError:
            raise ParseError("Malformed JSON: the body is not UTF-8") from None
        except RecursionError:
            raise ParseError("Malformed JSON: nested too deeply") from None
