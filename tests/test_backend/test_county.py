"""County data: the packaged file loads; mistakes are reported with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.county import DEFAULT_COUNTY_FILE, CountyDataError, haversine_km, load_county

TOWNSHIPS = ["弥城镇", "红岩镇", "新街镇", "寅街镇", "苴力镇", "密祉镇", "德苴乡", "牛街彝族乡"]


def test_packaged_county_has_the_23_departments_and_8_townships(shared_dir: Path) -> None:
    county = load_county()
    codes = [
        line.split(",")[0]
        for line in (shared_dir / "benchmarks/departments.csv").read_text().splitlines()[1:]
    ]
    assert set(codes) <= set(county.departments) and len(codes) == 23
    # the county's own units beyond the 23 codes (unit codes are data)
    assert set(county.departments) - set(codes) == {"veterans"}
    assert list(county.townships) == TOWNSHIPS
    assert all(county.townships[t] for t in TOWNSHIPS)
    units = [u.code for u in county.units()]
    assert "township" not in units and "township:牛街彝族乡" in units and len(units) == 31
    assert "veterans" in units


def test_unit_routing_and_names() -> None:
    county = load_county()
    assert county.unit_code_for("township", "红岩镇") == "township:红岩镇"
    assert county.unit_code_for("township", None) == "center"
    assert county.unit_code_for(None, "红岩镇") == "center"
    assert county.unit_code_for("police", "红岩镇") == "police"
    assert county.department_name("township:红岩镇") == "红岩镇综治中心"
    assert county.department_name("police", "en") == "Public Security Bureau"


def test_profiles_and_assisting_units() -> None:
    county = load_county()
    assert county.category_profile("C10").handle_working_days == 2
    assert county.category_profile("D08").handle_working_days == 7
    assert county.category_profile("D06").handle_working_days == 20
    assert county.category_profile("D21").handle_calendar_days == 60
    assert county.category_profile("ZZZ").code == "general"
    assert "housing" in county.assisting_departments("D08")


def test_location_helpers() -> None:
    county = load_county()
    assert county.point_in_county(25.343, 100.491)
    assert not county.point_in_county(25.04, 102.71)  # 昆明
    assert not county.point_in_county(25.60, 100.25)  # 大理 凤仪, north-west of the county
    assert county.point_in_county(24.79, 100.60)  # the county's southern end (24°47′N)


def _seat(name: str) -> tuple[float, float]:
    center = load_county().township_data[name].center
    assert center is not None
    return center


def test_township_seats_lie_where_the_county_descriptions_put_them() -> None:
    mi = _seat("弥城镇")
    assert abs(mi[0] - 25.34) < 0.01 and abs(mi[1] - 100.49) < 0.01
    # 新街 坝区中北端 ~5 km north of 弥城; 红岩 further north (坝子西北部)
    assert _seat("新街镇")[0] > mi[0] and haversine_km(*mi, *_seat("新街镇")) < 8
    assert _seat("红岩镇")[0] > _seat("新街镇")[0] and _seat("红岩镇")[1] < mi[1]
    # 寅街 south of 弥城 (~10 km), 苴力 at the south end of the basin, further south
    assert _seat("寅街镇")[0] < mi[0] and 6 < haversine_km(*mi, *_seat("寅街镇")) < 14
    assert _seat("苴力镇")[0] < _seat("寅街镇")[0]
    # 密祉 西南部 (borders 巍山/南涧), 德苴 东南部 (borders 南华): west and east of 弥城
    assert _seat("密祉镇")[1] < mi[1] and _seat("密祉镇")[0] < mi[0]
    assert _seat("德苴乡")[1] > mi[1] and _seat("德苴乡")[0] < _seat("苴力镇")[0]
    # 牛街彝族乡 is the southernmost township, south of 德苴
    south = min(TOWNSHIPS, key=lambda name: _seat(name)[0])
    assert south == "牛街彝族乡" and _seat("牛街彝族乡")[0] < 25.0


def test_bounding_box_holds_every_seat_and_the_whole_county_with_a_margin() -> None:
    county = load_county()
    min_lat, max_lat, min_lon, max_lon = county.bbox
    margin = 0.02  # ~2 km
    for name in TOWNSHIPS:
        lat, lon = _seat(name)
        assert min_lat + margin < lat < max_lat - margin, name
        assert min_lon + margin < lon < max_lon - margin, name
    # the county's extent: 24°47′-25°32′N, 100°19′-100°47′E
    assert min_lat < 24.78 - 0.01 and max_lat > 25.53 + 0.01
    assert min_lon < 100.32 - 0.01 and max_lon > 100.78 + 0.01


@pytest.mark.parametrize("name", TOWNSHIPS)
def test_a_point_near_a_township_seat_goes_to_that_township_alone(name: str) -> None:
    county = load_county()
    lat, lon = _seat(name)
    for dlat, dlon in [(0.0, 0.0), (0.005, 0.0), (0.0, -0.005), (-0.004, 0.004)]:
        assert county.townships_near(lat + dlat, lon + dlon) == (name,)
        assert county.nearest_township(lat + dlat, lon + dlon) == name


@pytest.mark.parametrize(
    ("a", "b"),
    [("弥城镇", "新街镇"), ("弥城镇", "寅街镇"), ("寅街镇", "苴力镇"), ("新街镇", "红岩镇")],
)
def test_a_point_between_two_seats_offers_both_nearest_first(a: str, b: str) -> None:
    county = load_county()
    (lat1, lon1), (lat2, lon2) = _seat(a), _seat(b)
    near_a = (lat1 * 0.52 + lat2 * 0.48, lon1 * 0.52 + lon2 * 0.48)
    assert county.townships_near(*near_a) == (a, b)
    near_b = (lat1 * 0.47 + lat2 * 0.53, lon1 * 0.47 + lon2 * 0.53)
    assert county.townships_near(*near_b) == (b, a)


def test_nearby_ratio_is_county_data(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["county"].update(nearby_ratio=1))
    county = load_county(path)
    lat = (_seat("弥城镇")[0] + _seat("新街镇")[0]) / 2
    lon = (_seat("弥城镇")[1] + _seat("新街镇")[1]) / 2
    assert len(county.townships_near(lat + 0.001, lon)) == 1


def test_marriage_and_family_refer_to_the_womens_federation_and_the_reports_township() -> None:
    county = load_county()
    for category in ("D01", "D02"):
        assert county.referral_units(category, "寅街镇") == ["women", "township:寅街镇"]
        # without a known 乡镇 only the 妇联 is referred
        assert county.referral_units(category, None) == ["women"]
    assert county.referral_units("D08", "寅街镇") == []
    assert "township" in county.assisting_departments("D23")  # 吹哨 may pull in the 乡镇


def test_a_category_can_lead_to_a_county_unit_beyond_the_department_codes() -> None:
    county = load_county()
    assert county.lead_unit_code("civil_affairs", "C22", "弥城镇") == "veterans"
    assert county.department_name("veterans") == "县退役军人事务局"
    assert county.lead_unit_code("civil_affairs", "C1", "弥城镇") == "civil_affairs"
    assert county.lead_unit_code("township", "C23", "新街镇") == "township:新街镇"
    assert county.lead_unit_code(None, "C22", None) == "center"  # triage stays triage


def test_corruption_reports_are_confidential() -> None:
    county = load_county()
    assert county.is_confidential("C20")
    assert not county.is_confidential("D19") and not county.is_confidential(None)


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(DEFAULT_COUNTY_FILE.read_text(encoding="utf-8"))
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "county.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d["departments"].pop("police"), "departments"),
        (lambda d: d["categories"]["D08"].update(profile="slow"), "categories.D08.profile"),
        (lambda d: d["categories"]["D08"].update(assist=["army"]), "categories.D08.assist"),
        (lambda d: d["categories"]["D01"].update(refer=["center"]), "categories.D01.refer"),
        (lambda d: d["categories"]["C22"].update(unit="army"), "categories.C22.unit"),
        (
            lambda d: d["categories"]["C20"].update(confidential="yes"),
            "categories.C20.confidential",
        ),
        (lambda d: d["categories"]["C20"].update(refer=["township"]), "categories.C20"),
        (lambda d: d["county"].update(nearby_ratio=0.5), "county.nearby_ratio"),
        (
            lambda d: d["time_profiles"]["general"].update(handle_calendar_days=5),
            "time_profiles.general",
        ),
        (lambda d: d["risk_clocks"]["red"].update(warn_at=2), "risk_clocks.red.warn_at"),
        (
            lambda d: d["townships"]["弥城镇"].update(villages="西山村"),
            "townships.弥城镇.villages",
        ),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, mutate: object, key: str) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(CountyDataError) as err:
        load_county(path)
    assert str(path) in str(err.value) and key in str(err.value)
