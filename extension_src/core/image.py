"""Which images Keypool may load, and what it keeps of their addresses.

An image address comes from a page (the right-clicked image's srcUrl) or a
person (the popup's field), so it is untrusted. A page could point it at a
key server's /gemini-key: the loader would then GET a key, Chrome would
cache the answer on disk, and the JSON would go to the provider as "an
image". So the loader never fetches the pool's or the provider's origins,
accepts only a body whose first bytes are an image format the providers
take, and stops reading at MAX_IMAGE_BYTES.
"""

from core.compat import is_str
from core.urls import origin_of

MAX_IMAGE_BYTES = 7 * 1024 * 1024
# base64 of MAX_IMAGE_BYTES plus room for the "data:image/...;base64," head
MAX_DATA_URL_CHARS = (MAX_IMAGE_BYTES // 3 + 1) * 4 + 256
# lastAnalysis.imageUrl: storage.session holds 10 MB for everything
STORED_URL_MAX_CHARS = 2048
SNIFF_BYTES = 16

# (mime, offset, signature bytes); HEIF/AVIF are checked apart (brand after 'ftyp')
_SIGNATURES = [
    ['image/png', 0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]],
    ['image/jpeg', 0, [0xFF, 0xD8, 0xFF]],
    ['image/gif', 0, [0x47, 0x49, 0x46, 0x38]],
    ['image/bmp', 0, [0x42, 0x4D]],
]
_RIFF = [0x52, 0x49, 0x46, 0x46]
_WEBP = [0x57, 0x45, 0x42, 0x50]
_FTYP = [0x66, 0x74, 0x79, 0x70]
_HEIF_BRANDS = {'heic': 'image/heic', 'heix': 'image/heic', 'mif1': 'image/heif',
                'msf1': 'image/heif', 'avif': 'image/avif'}


def _starts_with(head, offset, signature):
    if len(head) < offset + len(signature):
        return False
    for i in range(len(signature)):
        if head[offset + i] != signature[i]:
            return False
    return True


def sniff_mime(head):
    """The image type of a body from its first bytes (a list of ints), or None if not an image."""
    for sig in _SIGNATURES:
        if _starts_with(head, sig[1], sig[2]):
            return sig[0]
    if _starts_with(head, 0, _RIFF) and _starts_with(head, 8, _WEBP):
        return 'image/webp'
    if _starts_with(head, 4, _FTYP) and len(head) >= 12:
        brand = ''.join([chr(head[i]) for i in range(8, 12)])
        if brand in _HEIF_BRANDS:
            return _HEIF_BRANDS[brand]
    return None


def is_forbidden_image_url(url, servers, provider_base_url):
    """Is url on a key server's or the provider's origin? (the loader never fetches those)"""
    origin = origin_of(url)
    if len(origin) == 0:
        return False
    for base in servers:
        if origin_of(base) == origin:
            return True
    return origin_of(provider_base_url) == origin


def stored_image_url(url):
    """The imageUrl kept in lastAnalysis: the address, cut to STORED_URL_MAX_CHARS.

    A cut address (a long data: URL) no longer loads; the popup then shows no
    thumbnail, which is all it costs.
    """
    if not is_str(url):
        return ''
    if len(url) <= STORED_URL_MAX_CHARS:
        return url
    return url[:STORED_URL_MAX_CHARS - 1] + '…'
