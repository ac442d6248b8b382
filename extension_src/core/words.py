"""Words that follow a count, for the texts people read (status lines, the options page)."""


def plural(n, one, many):
    """'1 server', '3 servers': n and the word that fits it (English: only 1 is singular)."""
    return str(n) + ' ' + (one if n == 1 else many)
