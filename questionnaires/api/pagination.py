"""Page-number pagination with a capped page size: asking for more than the cap gets the cap, not an error.

`page` and `page_size` must be whole numbers written in ASCII digits (a 400 naming the parameter
otherwise); both limits are stated in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination, PageNumberPagination

from questionnaires.input_bounds import whole_number
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 10_000_000
"""Far beyond any list here (5 billion rows at the largest page size); bounds the offset the database computes."""


class Pagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = whole_number(raw, minimum=1)
        if size is None:
            raise InvalidInput(
                "The page size is not valid.",
                [Problem(self.page_size_query_param, f"a whole number from 1 (at most {MAX_PAGE_SIZE} are sent)",
                         "invalid")],
            )
        return min(size, MAX_PAGE_SIZE)

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list | None:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and whole_number(raw, minimum=1,
                                                                                   maximum=MAX_PAGE) is None:
            raise InvalidInput(
                "The page number is not valid.",
                [Problem(self.page_query_param, f"a whole number from 1 to {MAX_PAGE}, or 'last'", "invalid")],
            )
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE
                }
                parameter["description"] = (
                    f"Results per page: default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE} "
                    "(a larger value is answered with pages of the maximum)."
                )
        return parameters


class ChangeCursorPagination(CursorPagination):
    """Cursor pages in the order responses last changed: stable while new data arrives (new rows come last).

    An integration keeps following `next`; a response amended or retracted later moves to the end
    and is seen again, with its new version.
    """

    ordering = ("last_changed", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        # The list's documented shape has `count`: how many changes the whole sync still holds.
        self.count = queryset.count()
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data = {"count": self.count, **response.data}
        return response


class RaisedCursorPagination(ChangeCursorPagination):
    """Alerts in the order they were stored (ids only grow): a poller never misses or repeats one."""

    ordering = ("id",)
