"""`python -m backend poster`: a PNG with the QR code of the residents' page and the county."""

from __future__ import annotations

from pathlib import Path

import pytest
import qrcode
from PIL import Image

from backend import cli
from backend.web import poster


def _qr_modules(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def _read_modules(image: Image.Image, size: int) -> list[list[bool]]:
    """Sample the printed QR code back into modules (it sits at 400..1260, border 2)."""
    gray = image.convert("L")
    side = 860
    total = size + 4
    step = side / total
    left, top = (poster.WIDTH - side) // 2, 400
    return [
        [
            gray.getpixel((int(left + (x + 2.5) * step), int(top + (y + 2.5) * step))) < 128  # type: ignore[operator]
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_poster_encodes_the_report_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEB_BASE_URL", "https://zzt.example.cn/")
    out = tmp_path / "poster.png"
    assert cli.main(["poster", "--out", str(out)]) == 0
    assert "https://zzt.example.cn/r" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (poster.WIDTH, poster.HEIGHT)
        expected = _qr_modules("https://zzt.example.cn/r")
        assert _read_modules(image, len(expected)) == expected


def test_without_a_chinese_font_the_poster_uses_the_english_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(poster, "CJK_FONTS", ())
    out = tmp_path / "p.png"
    assert cli.main(["poster", "--out", str(out), "--url", "https://x.cn/ask"]) == 0
    assert "未找到中文字体" in capsys.readouterr().err
    assert out.stat().st_size > 1000
    text = poster.poster_text("弥渡县", "Midu County", chinese=False)
    assert "Midu County" in text.title
