"""A printable QR-code poster for the residents' page (``python -m backend poster``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

WIDTH, HEIGHT = 1240, 1754  # A5 at 212 dpi, or A4 at 150 dpi
BRAND = (139, 26, 26)
# Fonts that carry Chinese, where Debian/Ubuntu (fonts-noto-cjk, fonts-wqy-*) or macOS put them.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class PosterText:
    title: str
    subtitle: str
    footer: str


def chinese_font(explicit: Path | None = None) -> Path | None:
    """The font to draw Chinese with: ``explicit`` or the first installed CJK font."""
    if explicit is not None:
        return explicit
    return next((Path(p) for p in CJK_FONTS if Path(p).is_file()), None)


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (path, Path(LATIN_FONT)):
        if candidate is not None and candidate.is_file():
            return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default(size)


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font: object, fill: object) -> int:
    box = draw.textbbox((0, 0), text, font=font)  # type: ignore[arg-type]
    width, height = int(box[2] - box[0]), int(box[3] - box[1])
    draw.text(((WIDTH - width) // 2, y), text, font=font, fill=fill)  # type: ignore[arg-type]
    return y + height


def make_poster(url: str, text: PosterText, font_path: Path | None) -> Image.Image:
    """White A-format page: title band, the QR code of ``url``, the link written out."""
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle((0, 0, WIDTH, 300), fill=BRAND)
    _centered(draw, 80, text.title, _font(font_path, 84), "white")
    _centered(draw, 200, text.subtitle, _font(font_path, 48), "white")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=20, border=2)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    image = image.resize((860, 860), Image.Resampling.NEAREST)
    poster.paste(image, ((WIDTH - 860) // 2, 400))
    _centered(draw, 1300, url, _font(Path(LATIN_FONT), 38), (40, 40, 40))
    _centered(draw, 1420, text.footer, _font(font_path, 52), BRAND)
    return poster


def poster_text(county_zh: str, county_en: str, *, chinese: bool) -> PosterText:
    if chinese:
        return PosterText(
            title=f"{county_zh}综治中心",
            subtitle="有事找综治中心 · 微信扫一扫",
            footer="反映问题 · 查询进度 · 法律咨询",
        )
    return PosterText(
        title=f"{county_en} Center",
        subtitle="Scan with WeChat",
        footer="Report · Track · Legal questions",
    )
