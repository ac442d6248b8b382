"""Server addresses as people type them: one per line (options and set-up pages)."""

from core.settings import MAX_SERVERS, check_base_url
from ui import fmt


def check_servers_text(text):
    """[servers, None] or [None, problem] for the one-URL-per-line text."""
    lines = [line.strip() for line in text.split('\n')]
    servers = []
    number = 0
    for line in lines:
        number += 1
        if len(line) == 0:
            continue
        url = check_base_url(line)
        if url == None:
            return [None, 'Line ' + str(number) + ': "' + line[:80] + '" is not an http:// or '
                    'https:// URL (no spaces, no ?query or #fragment).']
        if url not in servers:
            servers.append(url)
    if len(servers) == 0:
        return [None, 'Enter at least one key server URL.']
    if len(servers) > MAX_SERVERS:
        return [None, 'At most ' + str(MAX_SERVERS) + ' servers; you entered '
                + str(len(servers)) + '.']
    return [servers, None]


def server_origins(servers, provider_base_url):
    """Host permission patterns for every server and the provider, without repeats."""
    origins = []
    for url in servers:
        pattern = fmt.origin_pattern(url)
        if pattern != None and pattern not in origins:
            origins.append(pattern)
    pattern = fmt.origin_pattern(provider_base_url)
    if pattern != None and pattern not in origins:
        origins.append(pattern)
    return origins
