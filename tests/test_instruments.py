import pytest

from vimss_cli.errors import VimssError
from vimss_cli.instruments import ABBREVIATIONS, INSTRUMENTS, LineUp, label_vector, parse_instruments


def test_table_has_13_classes_in_urmp_order():
    assert ABBREVIATIONS == ("vn", "va", "vc", "db", "fl", "ob", "cl", "bn", "sax", "tpt", "hn", "tbn", "tba")
    assert all(inst.gm_programs and inst.solos_folder and inst.name for inst in INSTRUMENTS)
    assert {i.solos_folder for i in INSTRUMENTS} == {
        "Bassoon",
        "Cello",
        "Clarinet",
        "DoubleBass",
        "Flute",
        "Horn",
        "Oboe",
        "Saxophone",
        "Trombone",
        "Trumpet",
        "Tuba",
        "Viola",
        "Violin",
    }


def test_parse_accepts_abbreviations_names_and_any_case():
    chosen = parse_instruments("VN, viola ,Cello,DoubleBass,French Horn")
    assert [i.abbr for i in chosen] == ["vn", "va", "vc", "db", "hn"]


def test_unknown_instrument_suggests_close_names():
    with pytest.raises(VimssError, match=r"unknown instrument 'violn'; did you mean .*violin"):
        parse_instruments("violn,vc")


def test_an_instrument_named_twice_is_two_players_and_three_times_is_an_error():
    assert [i.abbr for i in parse_instruments("vn,violin,vc")] == ["vn", "vn", "vc"]
    with pytest.raises(VimssError, match="'vn' is given 3 times"):
        parse_instruments("vn,violin,Violin")


def test_empty_list_is_an_error():
    with pytest.raises(VimssError, match="no instruments"):
        parse_instruments(" , ")


def test_label_vector_marks_chosen_classes():
    labels = label_vector(parse_instruments("vc,tba"))
    assert labels.shape == (13,)
    assert labels.nonzero().flatten().tolist() == [2, 12]


def test_a_line_up_is_parsed_once_and_keeps_the_order_given():
    line_up = LineUp.of("cello, Violin,va")
    assert line_up.abbrs == ["vc", "vn", "va"] and line_up.sources == [2, 0, 1]
    assert line_up.labels().tolist() == [1.0, 1.0, 1.0] + [0.0] * 10
    assert LineUp.of(line_up) is line_up and LineUp.of(["vc", INSTRUMENTS[0], "va"]) == line_up
    with pytest.raises(VimssError, match="given 3 times"):
        LineUp.of("vn,violin,vn")
