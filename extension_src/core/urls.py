"""http(s) URLs as Keypool reads them: the scheme, the host, the host permission pattern.

The one place that strips a scheme or derives a host permission: the build
(manifest host_permissions), the options page (permissions it asks for),
the popup and the worker (permissions it checks) must agree on every URL.
Pure and case-insensitive about the scheme; no URL parser, since the core
also runs in CPython.
"""

from core.compat import is_str

HTTP = 'http://'
HTTPS = 'https://'


def split_scheme(url):
    """[scheme, rest] for an http(s) URL ('https://', 'Host:8443/api'), else None.

    The scheme comes back lower-cased, rest as written. Leading and trailing
    blanks are not stripped: a caller that accepts them strips first.
    """
    if not is_str(url):
        return None
    lower = url[:8].lower()
    if lower.startswith(HTTP):
        return [HTTP, url[len(HTTP):]]
    if lower.startswith(HTTPS):
        return [HTTPS, url[len(HTTPS):]]
    return None


def is_http_url(url):
    """Does url start with http:// or https:// (any case)?"""
    return split_scheme(url) != None


def without_scheme(url):
    """'localhost:3001/api' for 'http://localhost:3001/api'; any other text as it is ('' for None)."""
    if url == None:
        return ''
    parts = split_scheme(str(url))
    return str(url) if parts == None else parts[1]


def authority_of(rest):
    """The 'user@host:port' part of a URL without its scheme: up to the first / ? or #."""
    end = len(rest)
    for sep in ['/', '?', '#']:
        at = rest.find(sep)
        if at >= 0 and at < end:
            end = at
    return rest[:end]


def host_and_port(url):
    """[scheme, 'host:port'] (lower-cased, no user info) of an http(s) URL, or None."""
    parts = split_scheme(url.strip() if is_str(url) else url)
    if parts == None:
        return None
    host = authority_of(parts[1]).lower()
    at_sign = host.rfind('@')
    if at_sign >= 0:
        host = host[at_sign + 1:]
    if len(host) == 0:
        return None
    return [parts[0], host]


def host_of(url):
    """'localhost:3001' for 'http://localhost:3001/api'; the text itself if it is no URL."""
    if url == None:
        return ''
    parts = split_scheme(str(url))
    if parts == None:
        return str(url)
    return parts[1].split('/')[0]


def _without_port(host):
    """'example.org' for 'example.org:8443'; an IPv6 literal keeps its brackets."""
    if host.startswith('['):
        close = host.find(']')
        return host if close < 0 else host[:close + 1]
    return host.split(':')[0]


def host_pattern(url):
    """The host permission covering url: '<scheme>://<host>/*', any port; None if no http(s) URL.

    A Chrome match pattern without a port matches every port, so
    http://localhost:3000/api ... :3004/api share http://localhost/*.
    """
    found = host_and_port(url)
    if found == None:
        return None
    host = _without_port(found[1])
    if len(host) == 0:
        return None
    return found[0] + host + '/*'


def origin_of(url):
    """'scheme://host[:port]' of an http(s) URL, lower-cased, default ports dropped; or ''."""
    found = host_and_port(url)
    if found == None:
        return ''
    scheme = found[0]
    host = found[1]
    if scheme == HTTP and host.endswith(':80'):
        host = host[:len(host) - 3]
    if scheme == HTTPS and host.endswith(':443'):
        host = host[:len(host) - 4]
    return scheme + host
