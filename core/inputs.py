"""Request bodies, read strictly: the JSON parser (bounded in size and nesting) and the base of
every input serializer (a field it does not declare is answered 400 naming it), with the
serializer fields for ids, whole numbers and dates that parse as core.params does."""

from __future__ import annotations

import codecs
from collections.abc import Mapping

import orjson
from django.conf import settings
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from . import params

# Deeper than any body the API takes (a multilabel submission is two levels; a polygon's, with
# its points, would be five), far below what exhausts a parser's stack.
MAX_JSON_DEPTH = 32
DEPTH_MESSAGE = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
UNKNOWN_FIELD = "Unknown field."
# Sent by the pages' forms along with their fields (the imports page's upload).
FORM_EXTRAS = frozenset({"csrfmiddlewaretoken"})


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def json_depth_exceeds(value: dict | list, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a parsed body nest deeper than `limit` (walked
    without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(BaseParser):
    """DRF's JSON parser, on orjson: strict JSON (no NaN, no lone surrogates), at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes, nested at most MAX_JSON_DEPTH levels (orjson stops at
    1,024 on its own; the stdlib's parser recursed until the process's stack ran out)."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge(f"A JSON body of at most {limit} bytes.")
        encoding = ((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET).lower()
        try:
            text = body if codecs.lookup(encoding).name == "utf-8" else body.decode(encoding)
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if str(exc).startswith("depth limit exceeded"):
                raise exceptions.ParseError(DEPTH_MESSAGE) from exc
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        except (LookupError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if isinstance(data, dict | list) and json_depth_exceeds(data):
            raise exceptions.ParseError(DEPTH_MESSAGE)
        return data


# Comments, not docstrings, on these three: the API schema describes each input serializer by
# the first docstring of its classes, and these would be every one's.


# The mixin of every input serializer: each key of the body that is not one of its writable
# fields is an error of its own, `{"colour": ["Unknown field."]}`, with the fields' errors.
class StrictInput:

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {
                key: [UNKNOWN_FIELD]
                for key in data
                if key not in writable and key not in FORM_EXTRAS
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# The base of the serializers that read a request body.
class InputSerializer(StrictInput, serializers.Serializer):
    pass


# The body of a POST that takes none: any field sent is unknown.
class NoInput(InputSerializer):
    pass


def no_body(request) -> None:
    """For a handler that reads no body: a body with fields is answered 400 naming them."""
    NoInput(data=request.data).is_valid(raise_exception=True)


class IdField(serializers.IntegerField):
    """An object's id: 1..2**63-1, as a JSON number or ASCII digits."""

    def to_internal_value(self, data):
        try:
            return params.parse_id(data)
        except params.Invalid as exc:
            raise serializers.ValidationError(str(exc)) from exc


class IntegerField(serializers.IntegerField):
    """A whole number as a JSON number or ASCII digits (DRF's own also takes "٣", " 3" and
    3.0); min_value and max_value bound it as in DRF."""

    def to_internal_value(self, data):
        try:
            return params.parse_int(data, minimum=-params.ID_MAX, maximum=params.ID_MAX)
        except params.Invalid:
            self.fail("invalid")


class DateField(serializers.DateField):
    """A real calendar day, YYYY-MM-DD, within core.params' supported range."""

    def to_internal_value(self, value):
        try:
            return params.parse_date(value)
        except params.Invalid as exc:
            raise serializers.ValidationError(str(exc)) from exc
