"""Player boxes: parsing, strips, tracking, left-to-right assignment and the debug picture."""

import numpy as np
import pytest
from PIL import Image

from vimss_cli.boxes import Box, parse_boxes, strips
from vimss_cli.errors import VimssError
from vimss_cli.video.players import assign_players, draw_boxes, player_boxes, track


def moving_players(frames: int = 10) -> list[list[Box]]:
    """Three players drifting a little; detections come in a shuffled order each frame,
    one frame misses the middle player, and a passer-by shows up in two frames."""
    rng = np.random.default_rng(0)
    out = []
    for f in range(frames):
        boxes = [Box(x + f, 20.0, x + 60 + f, 200.0) for x in (10.0, 110.0, 210.0)]
        if f == 4:
            boxes.pop(1)
        if f in (6, 7):
            boxes.append(Box(280.0, 0.0, 300.0, 30.0))
        out.append([boxes[i] for i in rng.permutation(len(boxes))])
    return out


def test_parse_boxes():
    assert parse_boxes("0,0,10,20; 10,0,20,20") == [Box(0, 0, 10, 20), Box(10, 0, 20, 20)]
    for bad, needle in (("1,2,3", "four numbers"), ("5,5,1,9", "empty"), (" ; ", "no box"), ("a,b,c,d", "four")):
        with pytest.raises(VimssError, match=needle):
            parse_boxes(bad)


def test_strips_cover_the_picture_left_to_right():
    assert strips(300, 100, 3) == [Box(0, 0, 100, 100), Box(100, 0, 200, 100), Box(200, 0, 300, 100)]


def test_tracks_follow_each_player_through_shuffled_detections():
    tracks = track(moving_players())
    assert len(tracks) == 4 and all(len(t) == 10 for t in tracks)
    for t in tracks[:3]:
        xs = {round(b.x1 - f) for f, b in enumerate(t) if b is not None}
        assert len(xs) == 1  # one player per track
    assert sum(b is None for t in tracks[:3] for b in t) == 1  # the missed frame


def test_players_are_assigned_left_to_right_and_gaps_filled():
    players = player_boxes(moving_players())
    assert [round(p[0].x1) for p in players] == [10, 110, 210]  # the passer-by is dropped
    assert players[1][4] in (players[1][3], players[1][5])
    assert assign_players(moving_players(), 3, 320, 240) == players


def test_a_different_number_of_players_is_an_error_or_strips():
    with pytest.raises(VimssError, match="found 3 players in the video but --instruments names 4"):
        assign_players(moving_players(), 4, 320, 240)
    fallback = assign_players(moving_players(), 4, 320, 240, strips_fallback=True)
    assert [p[0] for p in fallback] == strips(320, 240, 4) and all(len(p) == 10 for p in fallback)


def test_the_debug_picture_shows_one_box_per_player(tmp_path):
    frame = np.full((240, 320, 3), 255, np.uint8)
    path = draw_boxes(frame, [p[0] for p in player_boxes(moving_players())], ["vn", "va", "vc"], tmp_path / "boxes.png")
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape == frame.shape and sorted(p.name for p in tmp_path.iterdir()) == ["boxes.png"]
    colours = {tuple(c) for c in image.reshape(-1, 3)} - {(255, 255, 255)}
    assert {(0xE6, 0x19, 0x4B), (0x3C, 0xB4, 0x4B), (0x43, 0x63, 0xD8)} <= colours
    assert (0xF5, 0x82, 0x31) not in colours  # no fourth box
    with pytest.raises(VimssError, match="cannot write"):
        draw_boxes(frame, [], [], tmp_path / "missing" / "boxes.png")
