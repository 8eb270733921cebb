"""Reading a learner's own (x, y) CSV: good files in many dialects, a clear message per fault."""

from __future__ import annotations

import numpy as np
import pytest

from losslab import grids, surfaces, userdata
from losslab.surfaces import Dataset
from losslab.userdata import MAX_BYTES, MAX_ROWS, UserDataError, parse_csv
from tests.csv_corpus import HOSTILE_CSV, LARGE_PASTE


def fails(raw: bytes, match: str, **limits: int) -> None:
    with pytest.raises(UserDataError, match=match):
        parse_csv(raw, **limits)


# ---------------------------------------------------------------------------- good files


@pytest.mark.parametrize("raw", [
    b"1,2\n3,4\n5,6",
    b"x,y\n1,2\n3,4\n5,6\n",
    b"X;Y\r\n1;2\r\n3;4\r\n5;6\r\n",
    b"x\ty\n1\t2\n3\t4\n5\t6",
    b"\n\nx,y\n\n1,2\n \n3,4\n5,6\n\n",
    b"\xef\xbb\xbfx,y\n1,2\n3,4\n5,6",
    b"x , y\n 1 , 2 \n3,4\n5,6",
    b'"x","y"\n"1","2"\n3,4\n5,6',
    b"hours,score\n1,2\n3,4\n5,6",
    b"id,y,note,x\n7,2,a,1\n8,4,b,3\n9,6,c,5",
], ids=["no-header", "header", "semicolons-crlf", "tabs", "blank-lines", "bom", "spaces",
        "quoted", "other-names", "named-columns-among-others"])
def test_a_good_file_gives_its_rows(raw):
    data = parse_csv(raw)
    assert isinstance(data, Dataset) and data.kind == "regression"
    np.testing.assert_array_equal(data.x, [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(data.y, [2.0, 4.0, 6.0])


def test_numbers_in_every_plain_decimal_form_are_read_exactly():
    data = parse_csv(b"-1.5,2e-3\n+.5,1E3\n7.,-0")
    np.testing.assert_array_equal(data.x, [-1.5, 0.5, 7.0])
    np.testing.assert_array_equal(data.y, [0.002, 1000.0, 0.0])


def test_a_hundred_thousand_rows_are_read_exactly():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=MAX_ROWS), 3)
    y = np.round(3 * x + rng.normal(size=MAX_ROWS), 3)
    raw = ("x,y\n" + "\n".join(f"{a},{b}" for a, b in zip(x, y, strict=True))).encode()
    assert len(raw) <= MAX_BYTES
    # Speed is for benchmarks, not tests (shared machines): this checks the full-size read.
    data = parse_csv(raw)
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)


# ---------------------------------------------------------------------------- each fault


def test_a_file_over_the_size_limit_is_refused_naming_both_sizes():
    fails(b"1,2\n" * 600_000, r"2\.4 MB; the limit is 2\.0 MB")


def test_a_lower_size_limit_is_respected():
    fails(b"1,2\n3,4\n", r"8 bytes; the limit is 5 bytes", max_bytes=5)


def test_a_caller_cannot_raise_the_limits_above_the_caps():
    fails(b"1,2\n" * 600_000, "the limit is 2.0 MB", max_bytes=10**9)
    fails(b"1,2\n" * (MAX_ROWS + 1), "the limit is 100,000", max_rows=10**9)


def test_more_rows_than_the_limit_are_refused():
    fails(b"x,y\n" + b"1,2\n" * 11, r"more than 10 data rows \(12 lines\); the limit is 10",
          max_rows=10)


def test_one_row_more_than_the_limit_without_a_header_is_refused():
    fails(b"1,2\n" * 11, "11 data rows; the limit is 10", max_rows=10)


def test_bytes_that_are_not_utf8_are_refused():
    fails("x,y\n1,2\n3,4\nä,5".encode("latin-1"), "not UTF-8 text .*position 12")


def test_a_binary_file_is_refused():
    fails(b"\x00\x01\x02\x03,1\n2,3", "not text")


@pytest.mark.parametrize("raw", [b"", b"\n\n  \n", b" , \n,"], ids=["nothing", "blank", "commas"])
def test_an_empty_file_is_refused(raw):
    fails(raw, "empty")


@pytest.mark.parametrize("raw", [b"1\n2\n3", b"1,2,3\n4,5,6", b"a,b,c\n1,2,3\n4,5,6"],
                         ids=["one-column", "three-columns", "three-unnamed"])
def test_other_than_two_columns_is_refused(raw):
    fails(raw, "exactly two columns")


def test_a_row_with_a_different_width_is_refused_naming_its_line():
    fails(b"x,y\n1,2\n\n3,4,5\n", "Line 4 has 3 values; the first line has 2")


def test_text_in_a_numeric_column_names_the_line_and_value():
    fails(b"x,y\n1,2\n3,four\n", 'Line 3: y is "four", which is not a number')


def test_a_long_text_value_is_shortened_in_the_message():
    with pytest.raises(UserDataError) as err:
        parse_csv(b"x,y\n1,2\n3," + b"z" * 500)
    assert "z" * 29 + "…" in str(err.value) and len(str(err.value)) < 100


def test_a_decimal_comma_gets_a_hint():
    fails(b"x;y\n1,5;2\n2;3", "Use a point for decimals")


@pytest.mark.parametrize("value", [b"nan", b"NaN", b"inf", b"-Infinity"])
def test_non_finite_values_name_the_line(value):
    fails(b"x,y\n1,2\n3," + value, "Line 3: y is .*only finite numbers")


def test_a_number_too_large_for_a_float_names_the_line():
    fails(b"x,y\n1,2\n1e999,3", "Line 3: x is \"1e999\", too large")


def test_a_missing_value_names_the_line():
    fails(b"x,y\n1,2\n3,\n", "Line 3 has no value for y")


@pytest.mark.parametrize("value", [b"1_000", b"0x10", b"2**3", b"1/2", b"__import__('os')"])
def test_python_style_numbers_and_code_are_not_evaluated(value):
    fails(b"x,y\n1,2\n3," + value, "not a number")


def test_a_named_column_is_named_in_the_message():
    fails(b"hours,score\n1,2\n3,lots", r"y \(score\) is \"lots\"")


@pytest.mark.parametrize("raw", [b"x,y\n1,2", b"1,2"], ids=["header", "no-header"])
def test_one_row_is_not_enough(raw):
    fails(raw, "1 data row; at least 2")


def test_all_x_equal_is_refused_as_degenerate():
    fails(b"x,y\n3,1\n3,2\n3,5", "Every x value is 3.*degenerate")


def test_a_first_row_with_nan_is_data_not_a_header():
    fails(b"nan,nan\n1,2\n3,4", "Line 1: x is \"nan\"")


def test_user_data_error_is_a_value_error():
    assert issubclass(UserDataError, ValueError)


# --- the hostile corpus ---------------------------------------------------------------------


def test_csv_corpus_holds_at_least_25_hostile_pastes():
    assert len(HOSTILE_CSV) >= 25
    assert len({h.raw for h in HOSTILE_CSV}) == len(HOSTILE_CSV)


@pytest.mark.parametrize("item", HOSTILE_CSV, ids=[str(i) for i in range(len(HOSTILE_CSV))])
def test_every_hostile_paste_is_refused_in_words(item):
    with pytest.raises(userdata.UserDataError) as info:
        userdata.parse_csv(item.raw)
    assert item.expect in str(info.value)


def test_values_up_to_the_magnitude_cap_give_a_finite_loss_surface():
    big = userdata.MAX_VALUE
    data = userdata.parse_csv(f"x,y\n{big:g},{big:g}\n{-big:g},{-big / 2:g}\n0,1\n".encode())
    for loss in ("mse", "mae", "huber"):
        surface = surfaces.linear_regression_from_data(data.x, data.y, loss=loss)
        grid = grids.evaluate(surface, 40)
        assert np.isfinite(grid.values).all(), loss


def test_quotes_closed_on_their_line_are_still_read():
    data = userdata.parse_csv(b'x,y\n"1","2"\n3,"4.5"\n')
    assert data.x.tolist() == [1.0, 3.0] and data.y.tolist() == [2.0, 4.5]


def test_the_large_valid_paste_is_accepted_whole():
    data = userdata.parse_csv(LARGE_PASTE)
    assert data.x.size == 10_000 and data.y[-1] == 2 * 9_999 + 1
