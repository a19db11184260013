from dataclasses import dataclass

import pytest

from shopwatch.ingest.access_unit import AccessUnitAssembler


@dataclass(frozen=True)
class P:
    pts: int | None
    is_keyframe: bool
    size: int = 100


def assemble(packets: list[P]) -> list[list[P]]:
    assembler: AccessUnitAssembler[P] = AccessUnitAssembler()
    units = []
    for i, packet in enumerate(packets):
        unit = assembler.push(packet, now=float(i))
        if unit is not None:
            units.append(list(unit.packets))
    return units


@pytest.mark.parametrize(
    ("name", "packets", "expected_sizes"),
    [
        ("one packet per picture", [P(0, True), P(1, False), P(2, False), P(3, False)], [1, 1, 1]),
        # Seen from the sim (rtph264pay config-interval=-1, 2-slice keyframes): two key packets, same pts,
        # the very first one without a pts.
        ("split keyframes", [P(None, True), P(0, True), P(1, False), P(2, True), P(2, True), P(3, False)], [2, 1, 2]),
        ("intra-only stream", [P(0, True), P(1, True), P(2, True)], [1, 1]),
        ("slices of a P-frame", [P(0, True), P(1, False), P(1, False), P(2, False)], [1, 2]),
    ],
)
def test_packets_are_grouped_into_pictures(name: str, packets: list[P], expected_sizes: list[int]) -> None:
    assert [len(u) for u in assemble(packets)] == expected_sizes, name


def test_a_unit_knows_its_size_keyframe_pts_and_arrival() -> None:
    assembler: AccessUnitAssembler[P] = AccessUnitAssembler()
    assert assembler.push(P(None, True, 1500), now=1.0) is None
    assert assembler.push(P(7, True, 800), now=1.1) is None
    unit = assembler.push(P(8, False, 90), now=1.2)
    assert unit is not None
    assert (unit.size, unit.keyframe, unit.pts, unit.arrival) == (2300, True, 7, 1.0)


def test_a_unit_never_grows_past_its_cap() -> None:
    assembler: AccessUnitAssembler[P] = AccessUnitAssembler(max_packets=3)
    units = [assembler.push(P(None, False), now=0.0) for _ in range(7)]
    assert [len(u.packets) for u in units if u is not None] == [3, 3]


def test_a_batch_gives_the_same_units_as_packet_by_packet() -> None:
    packets = [P(None, True), P(0, True), P(1, False), P(1, False), P(2, False), P(3, True), P(3, True), P(4, False)]
    one_by_one: AccessUnitAssembler[P] = AccessUnitAssembler()
    expected = [u for i, p in enumerate(packets) if (u := one_by_one.push(p, now=float(i))) is not None]
    batched: AccessUnitAssembler[P] = AccessUnitAssembler()
    got = batched.push_all([(p, float(i)) for i, p in enumerate(packets[:3])])
    got += batched.push_all([(p, float(i + 3)) for i, p in enumerate(packets[3:])])
    assert got == expected
    assert [(len(u.packets), u.keyframe, u.pts, u.arrival) for u in got] == [
        (2, True, 0, 0.0),
        (2, False, 1, 2.0),
        (1, False, 2, 4.0),
        (2, True, 3, 5.0),
    ]
