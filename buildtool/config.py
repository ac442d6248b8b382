"""Project config: pyproject.toml ([project] and [tool.keypool]) and --servers."""

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError
from .layout import ROOT

MAX_SERVERS = 20


@dataclass(frozen=True)
class Project:
    """What pyproject.toml says about the extension."""

    name: str
    version: str
    description: str
    defaults: dict
    transcrypt_pin: str | None

    @property
    def display_name(self):
        return self.name[:1].upper() + self.name[1:]

    @property
    def zip_name(self):
        return f"{self.name}-{self.version}-chrome.zip"


# Integer settings of CONTRACT.md §3 (plus Keypool's additions) and their minimum.
INT_SETTINGS = {
    "keyTimeoutMs": 1,
    "healthTimeoutMs": 1,
    "failedResetMs": 0,
    "allFailedBackoffMs": 0,
    "keyCacheMs": 0,
    "hedgeDelayMs": 0,
    "ejectionBaseMs": 1,
    "probeIntervalMs": 1,
}
ENDPOINT_NAMES = ("health", "key", "donate")
PROVIDER_KINDS = ("gemini", "openai")


def load_project(root=ROOT):
    """Read and check pyproject.toml; DEFAULTS is [tool.keypool] as it stands."""
    path = Path(root) / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("missing", path="pyproject.toml") from None
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        raise ConfigError(
            f"invalid TOML: {str(e).split(' (at line')[0]}",
            path="pyproject.toml",
            line=m and int(m.group(1)),
        ) from None
    project = data.get("project", {})
    for key in ("name", "version", "description"):
        if not isinstance(project.get(key), str) or not project[key]:
            raise ConfigError(f"[project] {key} must be a non-empty string", path="pyproject.toml")
    defaults = data.get("tool", {}).get("keypool")
    if not isinstance(defaults, dict):
        raise ConfigError("missing the [tool.keypool] table", path="pyproject.toml")
    check_defaults(defaults)
    pin = None
    for dep in project.get("dependencies", []):
        m = re.fullmatch(r"\s*transcrypt\s*==\s*([\w.]+)\s*", dep, re.IGNORECASE)
        if m:
            pin = m.group(1)
    return Project(project["name"], project["version"], project["description"], defaults, pin)


def check_defaults(defaults):
    """Check [tool.keypool] against CONTRACT.md §3 and Transcrypt's literal types."""

    def fail(message):
        raise ConfigError(f"[tool.keypool] {message}", path="pyproject.toml")

    check_literal(defaults, "[tool.keypool]")
    if "servers" not in defaults:
        fail("servers is missing")
    try:
        check_servers(defaults["servers"])
    except ConfigError as e:
        fail(f"servers: {e.message}")
    for key, minimum in INT_SETTINGS.items():
        if key not in defaults:
            continue
        value = defaults[key]
        if type(value) is not int or value < minimum:
            fail(f"{key} must be an integer >= {minimum}, got {value!r}")
    endpoints = defaults.get("endpoints")
    if not isinstance(endpoints, dict):
        fail("endpoints table is missing")
    for key in ENDPOINT_NAMES:
        value = endpoints.get(key)
        if not isinstance(value, str) or not value.startswith("/"):
            fail(f"endpoints.{key} must be a path starting with '/', got {value!r}")
    provider = defaults.get("provider")
    if not isinstance(provider, dict):
        fail("provider table is missing")
    if provider.get("kind") not in PROVIDER_KINDS:
        fail(
            f"provider.kind must be one of {', '.join(PROVIDER_KINDS)}, got {provider.get('kind')!r}"
        )
    try:
        check_url(provider.get("baseUrl"))
    except ConfigError as e:
        fail(f"provider.baseUrl: {e.message}")
    for key in ("model", "prompt"):
        if not isinstance(provider.get(key), str) or not provider[key].strip():
            fail(f"provider.{key} must be a non-empty string")
    if defaults.get("ejectionBaseMs", 0) > defaults.get("failedResetMs", 0):
        fail("ejectionBaseMs must not exceed failedResetMs (the longest ejection)")


def check_literal(value, where):
    """Only str, int, float, bool, lists and tables: Transcrypt gets them as literals."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_literal(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_literal(item, f"{where}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: {value} has no literal in JS source", path="pyproject.toml")
    elif not isinstance(value, (str, int, float, bool)):
        raise ConfigError(
            f"{where}: {type(value).__name__} values are not supported", path="pyproject.toml"
        )


def check_url(url):
    """Return `url` if it is an http(s) URL the extension can fetch from."""
    if not isinstance(url, str):
        raise ConfigError(f"{url!r} is not a URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as e:
        raise ConfigError(f"{url!r} is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{url!r} contains credentials, which fetch() refuses")
    if parts.query or parts.fragment:
        raise ConfigError(f"{url!r} must not have a query or fragment (it is a base URL)")
    return url


def check_servers(servers):
    """Check a server list: 1..20 distinct http(s) base URLs."""
    if not isinstance(servers, list) or not servers:
        raise ConfigError("needs at least one server URL")
    if len(servers) > MAX_SERVERS:
        raise ConfigError(f"at most {MAX_SERVERS} servers, got {len(servers)}")
    for url in servers:
        check_url(url)
    if len(set(servers)) != len(servers):
        dup = next(u for u in servers if servers.count(u) > 1)
        raise ConfigError(f"{dup!r} is listed twice")
    return servers


def parse_servers_option(text):
    """--servers 'URL,URL' -> list of base URLs without trailing slashes."""
    servers = [part.strip().rstrip("/") for part in text.split(",")]
    if any(not s for s in servers):
        raise ConfigError(f"empty entry in {text!r}", path="--servers")
    try:
        return check_servers(servers)
    except ConfigError as e:
        raise ConfigError(e.message, path="--servers") from None


def chrome_version(version):
    """Chrome's 1-4 dot-separated integers (0..65535) from a PEP 440 version.

    Like WXT's simplifyVersion: "1.2.0rc1" gives "1.2.0"; the full string
    goes to version_name.
    """
    m = re.match(r"\d+(?:\.\d+){0,3}", version)
    parts = [int(p) for p in m.group(0).split(".")] if m else []
    if not parts or any(p > 65535 for p in parts):
        raise ConfigError(
            f"[project] version {version!r} has no Chrome version (1-4 integers 0..65535)",
            path="pyproject.toml",
        )
    return ".".join(str(p) for p in parts)


def match_pattern(url):
    """The host permission that covers `url`: scheme://host/* (any port)."""
    parts = urlsplit(url)
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}/*"


def host_permissions(defaults):
    """Match patterns for the key servers and the provider, sorted and distinct."""
    urls = list(defaults["servers"]) + [defaults["provider"]["baseUrl"]]
    return sorted({match_pattern(u) for u in urls})
