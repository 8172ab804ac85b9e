"""County data: the packaged file loads; mistakes are reported with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.county import DEFAULT_COUNTY_FILE, CountyDataError, load_county

TOWNSHIPS = ["弥城镇", "红岩镇", "新街镇", "寅街镇", "苴力镇", "密祉镇", "德苴乡", "牛街彝族乡"]


def test_packaged_county_has_the_23_departments_and_8_townships(shared_dir: Path) -> None:
    county = load_county()
    codes = [
        line.split(",")[0]
        for line in (shared_dir / "benchmarks/departments.csv").read_text().splitlines()[1:]
    ]
    assert sorted(county.departments) == sorted(codes) and len(codes) == 23
    assert list(county.townships) == TOWNSHIPS
    assert all(county.townships[t] for t in TOWNSHIPS)
    units = [u.code for u in county.units()]
    assert "township" not in units and "township:牛街彝族乡" in units and len(units) == 30


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
    assert county.nearest_township(25.30, 100.70) == "牛街彝族乡"


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
