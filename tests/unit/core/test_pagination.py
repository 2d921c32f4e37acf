from __future__ import annotations

import pytest

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.pagination import MAX_LIMIT, PageRequest, make_page


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limit_out_of_range_names_the_param(limit: int) -> None:
    with pytest.raises(InvalidParameter) as exc:
        PageRequest(limit=limit)
    assert exc.value.param == "limit"


def test_both_cursors_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        PageRequest(starting_after="a", ending_before="b")


def test_page_fetches_one_extra_row_to_know_has_more() -> None:
    request = PageRequest(limit=3)
    assert request.fetch == 4
    page = make_page([5, 4, 3, 2], request)
    assert page.data == [5, 4, 3] and page.has_more


def test_last_page_has_no_more() -> None:
    page = make_page([2, 1], PageRequest(limit=3))
    assert page.data == [2, 1] and not page.has_more


def test_ending_before_rows_are_flipped_back_to_newest_first() -> None:
    page = make_page([6, 7, 8, 9], PageRequest(limit=3, ending_before="5"))
    assert page.data == [8, 7, 6] and page.has_more
