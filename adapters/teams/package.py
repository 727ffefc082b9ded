"""The Teams app package: ``manifest/teams``'s template filled in, checked and zipped for upload.

An admin uploads one zip holding ``manifest.json`` and its two icons at the root. Microsoft's
JSON schema checks the manifest's shape; :func:`problems` checks the rules Teams applies on upload
that the schema does not express (icon sizes, command menu limits, a semantic version...).
Standard library only: packaging needs no botbuilder, settings or database.
"""

from __future__ import annotations

import json
import re
import struct
import tomllib
import zipfile
import zlib
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema

from dialogue.directory import is_entra_id

TEMPLATE = "manifest.template.json"
MANIFEST = "manifest.json"
SCHEMA = "MicrosoftTeams.v1.25.schema.json"  # Microsoft's, for the manifestVersion the template declares
APP_ID_PLACEHOLDER = "{{MICROSOFT_APP_ID}}"
VERSION_PLACEHOLDER = "{{VERSION}}"
DISTRIBUTION = "nextpractice"

SEMVER = re.compile(r"^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)$")
PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")
BAD_APP_ID = (
    "MICROSOFT_APP_ID must be the bot's Microsoft App ID (Azure Bot > Configuration), a GUID like "
    "5a0c1d9e-3b2f-4c1a-9e8d-7f6a5b4c3d2e; the README's 00000000-0000-0000-0000-000000000000 is a placeholder"
)

# Teams' own limits (learn.microsoft.com, "Create a commands menu" and the app manifest reference).
ICON_SIZES = {"color": 192, "outline": 32}
MAX_COMMANDS = 10  # per command list: the schema allows 12, but Teams shows at most 10
MAX_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
# (part, key, most characters, required)
TEXT_LIMITS = (
    ("name", "short", 30, True),
    ("name", "full", 100, False),
    ("description", "short", 80, True),
    ("description", "full", 4000, True),
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGBA, GREY_ALPHA = 6, 4  # PNG colour types with an alpha channel
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same inputs always give the same zip


def render_manifest(template: str | Mapping[str, Any], *, app_id: str, version: str) -> dict[str, Any]:
    """The manifest with ``{{MICROSOFT_APP_ID}}`` (the app id and the bot id) and ``{{VERSION}}`` filled in.

    ``template`` is the template's JSON text or its parsed value. A ``ValueError`` if ``app_id`` is
    not a GUID: Teams identifies the app, and Bot Framework the bot, by the Azure bot's App ID.
    """
    app_id = app_id.strip().lower()  # as Bot Framework tokens carry it, and botbuilder compares it
    if not is_entra_id(app_id):
        raise ValueError(BAD_APP_ID)
    parsed: Any = json.loads(template) if isinstance(template, str) else template
    if not isinstance(parsed, Mapping):
        raise ValueError("the Teams manifest template must be a JSON object")
    values = {APP_ID_PLACEHOLDER: app_id, VERSION_PLACEHOLDER: version.strip()}
    filled = _fill(parsed, values)
    assert isinstance(filled, dict)
    return filled


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    """A deep copy of ``value`` with each placeholder replaced in every string."""
    if isinstance(value, str):
        for placeholder, text in values.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, Mapping):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its IHDR chunk; None if ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def problems(manifest: Mapping[str, Any], icons: Mapping[str, bytes]) -> list[str]:
    """What Teams would refuse on upload that the JSON schema does not catch, in plain English.

    ``icons`` maps the package's icon file names to their contents. An empty list means the
    package is fine.
    """
    found = [*_placeholder_problems(manifest), *_version_problems(manifest), *_text_problems(manifest)]
    found += _icon_problems(manifest, icons)
    found += _bot_problems(manifest)
    return found


# What the schema's patterns mean, for the fields an organisation edits (its links, its colour).
PATTERN_WORDS = {
    "^[Hh][Tt][Tt][Pp][Ss]://": "must be a web address starting https://",
    "^[Hh][Tt][Tt][Pp][Ss]?://": "must be a web address starting https://",
    "^#[0-9a-fA-F]{6}$": "must be a colour written like #4F6BED",
}


def schema_problems(manifest: Mapping[str, Any]) -> list[str]:
    """Where the manifest breaks Microsoft's JSON schema for it (``manifest/teams``), one line each."""
    schema = json.loads((default_manifest_dir() / SCHEMA).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    found = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, error.absolute_path)) or "the manifest"
        words = PATTERN_WORDS.get(str(error.validator_value)) if error.validator == "pattern" else None
        if words:
            found.append(f"{where} {words}, not {error.instance!r}")
        else:
            found.append(f"{where}: {error.message:.200}")
    return found


def _placeholder_problems(manifest: Mapping[str, Any]) -> list[str]:
    left = sorted(set(PLACEHOLDER.findall(json.dumps(manifest))))
    return [f"the manifest still has the placeholder {name}: fill it in" for name in left]


def _version_problems(manifest: Mapping[str, Any]) -> list[str]:
    version = manifest.get("version")
    if isinstance(version, str) and SEMVER.match(version):
        return []
    return [
        f"the app version must be three numbers like 1.0.0 (Teams needs a new one for every update), "
        f"not {version!r}"
    ]


def _text_problems(manifest: Mapping[str, Any]) -> list[str]:
    found = []
    for part, key, limit, required in TEXT_LIMITS:
        text = (manifest.get(part) or {}).get(key)
        if not isinstance(text, str) or not text.strip():
            if required:
                found.append(f"the app needs a {key} {part}")
        elif len(text) > limit:
            found.append(f"the app's {key} {part} is {len(text)} characters long; Teams allows {limit}")
    return found


def _icon_problems(manifest: Mapping[str, Any], icons: Mapping[str, bytes]) -> list[str]:
    found = []
    named = manifest.get("icons") or {}
    for kind, side in ICON_SIZES.items():
        name = named.get(kind)
        if not isinstance(name, str) or not name:
            found.append(f"the manifest names no {kind} icon")
            continue
        if "/" in name or "\\" in name:
            found.append(f"the {kind} icon {name} must sit next to manifest.json (no folders)")
        data = icons.get(name)
        if data is None:
            found.append(f"the {kind} icon file {name} is missing")
            continue
        size = png_size(data)
        if size is None:
            found.append(f"the {kind} icon {name} is not a PNG image")
        elif size != (side, side):
            found.append(f"the {kind} icon {name} is {size[0]}x{size[1]} pixels; Teams needs {side}x{side}")
        elif kind == "outline":
            found += _outline_problems(name, data)
    return found


def _outline_problems(name: str, data: bytes) -> list[str]:
    """Teams shows the outline icon on its own backgrounds: only white, on a transparent background."""
    colour_type = data[25]
    if colour_type not in (RGBA, GREY_ALPHA):
        return [
            f"the outline icon {name} must be white on a transparent background (a PNG with transparency)"
        ]
    pixels = _pixels(data)
    if pixels is None:  # a layout we do not decode (e.g. interlaced): Teams checks it on upload
        return []
    if any(alpha and not white for white, alpha in pixels):
        return [f"the outline icon {name} must be white on a transparent background: it has other colours"]
    if not any(alpha for _, alpha in pixels):
        return [f"the outline icon {name} is fully transparent"]
    return []


def _pixels(data: bytes) -> list[tuple[bool, int]] | None:
    """Each pixel of an 8-bit, non-interlaced RGBA or grey+alpha PNG as (is white, alpha); else None."""
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or interlace or colour_type not in (RGBA, GREY_ALPHA):
        return None
    channels = 4 if colour_type == RGBA else 2
    compressed, position = b"", 8
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        if data[position + 4 : position + 8] == b"IDAT":
            compressed += data[position + 8 : position + 8 + length]
        position += 12 + length
    try:
        raw = zlib.decompress(compressed)
    except zlib.error:
        return None
    stride = width * channels
    if len(raw) < height * (stride + 1):
        return None
    pixels: list[tuple[bool, int]] = []
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        if line is None:
            return None
        for x in range(0, stride, channels):
            colour = line[x : x + channels - 1]
            pixels.append((all(c == 255 for c in colour), line[x + channels - 1]))
        previous = line
    return pixels


def _unfilter(kind: int, line: bytearray, previous: bytearray, step: int) -> bytearray | None:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    if kind > 4:
        return None
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = previous[i]
        upper_left = previous[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            guess = left + up - upper_left
            dl, du, dul = abs(guess - left), abs(guess - up), abs(guess - upper_left)
            nearest = left if dl <= du and dl <= dul else up if du <= dul else upper_left
            line[i] = (line[i] + nearest) & 0xFF
    return line


def _bot_problems(manifest: Mapping[str, Any]) -> list[str]:
    bots = manifest.get("bots") or []
    if len(bots) != 1:
        return [f"the manifest must declare exactly one bot, not {len(bots)}"]
    bot = bots[0]
    found = []
    if bot.get("botId") != manifest.get("id"):
        found.append("the bot's id (bots[0].botId) must be the app's id: both are the bot's Microsoft App ID")
    scopes = set(bot.get("scopes") or [])
    for number, command_list in enumerate(bot.get("commandLists") or [], start=1):
        where = "/".join(command_list.get("scopes") or []) or f"number {number}"
        extra = set(command_list.get("scopes") or []) - scopes
        if extra:
            found.append(f"the {where} command list is for {', '.join(sorted(extra))}, where the bot is not")
        commands = command_list.get("commands") or []
        if len(commands) > MAX_COMMANDS:
            found.append(
                f"the {where} command list has {len(commands)} commands; Teams shows at most {MAX_COMMANDS}"
            )
        titles = [str(command.get("title") or "") for command in commands]
        for title in sorted({t for t in titles if titles.count(t) > 1}):
            found.append(f"the {where} command list has {title!r} more than once")
        for command in commands:
            found += _command_problems(where, command)
    return found


def _command_problems(where: str, command: Mapping[str, Any]) -> list[str]:
    title, description = str(command.get("title") or ""), str(command.get("description") or "")
    found = []
    if not title.strip():
        found.append(f"a command in the {where} command list has no title")
    elif len(title) > MAX_TITLE:
        found.append(f"the {where} command {title!r} is longer than {MAX_TITLE} characters")
    if not description.strip():
        found.append(f"the {where} command {title!r} has no description")
    elif len(description) > MAX_COMMAND_DESCRIPTION:
        found.append(
            f"the {where} command {title!r} has a {len(description)}-character description; "
            f"Teams allows {MAX_COMMAND_DESCRIPTION}"
        )
    return found


class PackageError(ValueError):
    """The package was not built: ``problems`` says why, one plain sentence each."""

    def __init__(self, found: list[str]) -> None:
        super().__init__("the Teams app package has problems:\n  " + "\n  ".join(found))
        self.problems = found


def build_package(manifest_dir: Path, *, app_id: str, version: str, out: Path) -> Path:
    """Write the zip an admin uploads to Teams: ``manifest.json`` and its icons, at the zip's root.

    Reads ``manifest.template.json`` and the icons it names from ``manifest_dir``. Raises a
    ``ValueError`` (a :class:`PackageError` listing every problem) and writes nothing if the package
    would not be accepted. Returns ``out``.
    """
    template_path = manifest_dir / TEMPLATE
    try:
        template = template_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"there is no Teams manifest template {template_path}") from None
    try:
        manifest = render_manifest(template, app_id=app_id, version=version)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{template_path} is not valid JSON: {exc}") from None
    icons: dict[str, bytes] = {}
    for name in (manifest.get("icons") or {}).values():
        path = manifest_dir / str(name)
        if isinstance(name, str) and path.is_file():
            icons[name] = path.read_bytes()
    # The plain checks first: they say more than the schema's messages for what both catch.
    found = problems(manifest, icons) or schema_problems(manifest)
    if found:
        raise PackageError(found)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = {MANIFEST: json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n", **icons}
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out


def default_manifest_dir() -> Path:
    """``manifest/teams`` in the source tree this module runs from (an editable install or a clone)."""
    return Path(__file__).resolve().parents[2] / "manifest" / "teams"


# The developer links the template ships with: this project's, not the organisation installing it.
PROJECT_LINKS = "https://github.com/nextpractice/"


def project_links(manifest_dir: Path) -> list[str]:
    """The ``developer`` fields of the template that still point at this project (its website, privacy
    notice, terms): Teams shows them on the app's page, where staff expect their organisation's."""
    developer = json.loads((manifest_dir / TEMPLATE).read_text(encoding="utf-8")).get("developer") or {}
    return [key for key, value in developer.items() if str(value).startswith(PROJECT_LINKS)]


def package_version() -> str:
    """The installed ``nextpractice`` version, else ``pyproject.toml``'s (running from a clone)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0.0.0"
